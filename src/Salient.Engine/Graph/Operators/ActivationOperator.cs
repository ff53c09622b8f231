using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid and HardSwish: alone, in place when the input dies here, or fused into the producer.</summary>
internal static class ActivationOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        if (!TryDescribe(node, context, out var activation))
        {
            throw context.Error(node, "is not an activation Salient knows");
        }

        context.SetShape(node.Outputs[0], context.Shape(node, 0));
        return new ActivationStep(node, activation);
    }

    /// <summary>Reads the activation a node computes, with its parameters; false for any other node.</summary>
    public static bool TryDescribe(GraphNode node, PlanContext context, out FusedActivation activation)
    {
        activation = node.OpType switch
        {
            "Relu" => new FusedActivation(ActivationKind.Relu),
            "LeakyRelu" => new FusedActivation(ActivationKind.LeakyRelu, node.GetFloat("alpha", 0.01f)),
            "Sigmoid" => new FusedActivation(ActivationKind.Sigmoid),
            "HardSigmoid" => new FusedActivation(ActivationKind.HardSigmoid, node.GetFloat("alpha", 0.2f), node.GetFloat("beta", 0.5f)),
            "HardSwish" => new FusedActivation(ActivationKind.HardSwish),
            "Clip" => ClipBounds(node, context),
            _ => FusedActivation.None,
        };
        return activation.Kind != ActivationKind.None;
    }

    // Before opset 11 Clip's bounds are attributes; from 11 on they are optional constant inputs.
    private static FusedActivation ClipBounds(GraphNode node, PlanContext context)
    {
        if (context.Opset < 11)
        {
            return new FusedActivation(ActivationKind.Clip, node.GetFloat("min", float.MinValue), node.GetFloat("max", float.MaxValue));
        }

        var min = node.HasInput(1) ? Scalar(node, context, 1) : float.MinValue;
        var max = node.HasInput(2) ? Scalar(node, context, 2) : float.MaxValue;
        return new FusedActivation(ActivationKind.Clip, min, max);
    }

    private static float Scalar(GraphNode node, PlanContext context, int input)
    {
        var values = context.Constant(node, input).AsFloats();
        return values.Length == 1 ? values[0] : throw context.Error(node, $"input {input} must be a scalar");
    }

    internal sealed class ActivationStep(GraphNode node, FusedActivation activation) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        public override StepKind Kind => StepKind.Activation;

        public override FusedActivation Activation => activation;

        // Element-wise, so its Jacobian is diagonal: the backward pass's product is the tangent's.
        public override void Tangent(TangentContext context) => context.ThroughSymmetricJacobian();

        /// <summary>
        /// Relu, LeakyRelu, Clip and HardSigmoid are piecewise linear: no curvature term. Sigmoid's is
        /// σ''(x)·ẋ·g with σ'' = σ'·(1 − 2y). HardSwish is piecewise quadratic: x²/6 + x/2 inside
        /// (−3, 3), so its term is ẋ·g/3 there (the slope of a HardSigmoid x/6 + ½, twice).
        /// </summary>
        public override void GradientTangent(SecondOrderContext context)
        {
            switch (activation.Kind)
            {
                case ActivationKind.Sigmoid:
                    context.ThroughBackward();
                    context.ElementWiseCurvature(
                        (gradient, result) => context.Backend.ActivateBackward(activation, context.Input(0).Data, context.Output(0).Data, gradient, result), -2f, 1f);
                    break;
                case ActivationKind.HardSwish:
                    var inside = new FusedActivation(ActivationKind.HardSigmoid, 1f / 6f, 0.5f);
                    context.ThroughBackward();
                    context.ElementWiseCurvature(
                        (gradient, result) => context.Backend.ActivateBackward(inside, context.Input(0).Data, context.Input(0).Data, gradient, result), 0f, 2f);
                    break;
                default:
                    context.ThroughBackward();
                    break;
            }
        }

        public override bool ReadsTangentsInSecondOrder => activation.Kind is ActivationKind.Sigmoid or ActivationKind.HardSwish;

        public override void Backward(BackwardContext context)
        {
            if (context.NeedsGradient(0) && context.OutputGradient(0) is { } gradient)
            {
                var input = context.ReuseOutputGradient(0);
                context.Backend.ActivateBackward(activation, context.Input(0).Data, context.Output(0).Data, gradient.Data, input.Data);
                context.AddGradient(0, input);
            }
        }

        public override int InPlaceInput => 0;

        public override void Run(StepContext context)
        {
            var input = context.Input(0);
            var output = context.Output(0, input.Shape);
            context.Backend.Activate(activation, input.Data, output.Data);
        }
    }
}
