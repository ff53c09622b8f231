using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>Element-wise functions without parameters: Erf, Sqrt, Reciprocal, Neg, Exp, Log, Tanh, Abs (<see cref="IKernelBackend.Unary"/>).</summary>
internal static class UnaryOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var function = Enum.Parse<UnaryFunction>(node.OpType);
        var shape = context.Shape(node, 0);
        context.SetShape(node.Outputs[0], shape);
        return new UnaryStep(node, function, shape);
    }

    private sealed class UnaryStep(GraphNode node, UnaryFunction function, int[] shape) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        public override int InPlaceInput => 0;

        // Element-wise, so its Jacobian is diagonal: the backward pass's product is the tangent's.
        public override void Tangent(TangentContext context) => context.ThroughSymmetricJacobian();

        /// <summary>
        /// Neg is linear and Abs piecewise linear: no curvature term. Tanh's is tanh''(x)·ẋ·g with
        /// tanh'' = tanh'·(−2y). The other functions have no rule yet.
        /// </summary>
        public override void GradientTangent(SecondOrderContext context)
        {
            switch (function)
            {
                case UnaryFunction.Neg or UnaryFunction.Abs:
                    context.ThroughBackward();
                    break;
                case UnaryFunction.Tanh:
                    context.ThroughBackward();
                    context.ElementWiseCurvature((gradient, result) => context.Backend.UnaryBackward(function, default, context.Output(0).Data, gradient, result), -2f, 0f);
                    break;
                default:
                    throw context.Refused($"no second derivative of {function} yet");
            }
        }

        public override bool ReadsInputInBackward(int index) => function is UnaryFunction.Erf or UnaryFunction.Log or UnaryFunction.Abs;

        public override bool ReadsOutputInBackward => function is UnaryFunction.Sqrt or UnaryFunction.Reciprocal or UnaryFunction.Exp or UnaryFunction.Tanh;

        public override void Run(StepContext context) => context.Backend.Unary(function, context.Input(0).Data, context.Output(0, shape).Data);

        public override void Backward(BackwardContext context)
        {
            if (!context.NeedsGradient(0) || context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var input = ReadsInputInBackward(0) ? context.Input(0).Data : default;
            var output = ReadsOutputInBackward ? context.Output(0).Data : default;
            var dx = Tensor.Uninitialized(context.Backend, shape);
            context.Backend.UnaryBackward(function, input, output, gradient.Data, dx.Data);
            context.AddGradient(0, dx);
        }
    }
}
