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
