using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// GELU, 0.5·x·(1 + erf(x/√2)), as exporters before opset 20 write it: Div by √2 → Erf → Add 1 →
/// Mul by x → Mul by 0.5, fused into one step (one pass instead of five, and one value kept for the
/// backward pass instead of four).
/// </summary>
internal static class GeluOperator
{
    private const float Sqrt2 = 1.41421356f;

    /// <summary>Plans the pattern that starts at <paramref name="div"/> as one step, or returns null when it is not GELU.</summary>
    public static Step? TryPlan(GraphNode div, PlanContext context)
    {
        var x = div.Inputs[0];
        if (!IsScalar(context, div.Inputs[1], Sqrt2)
            || Patterns.Only(context, div.Outputs[0], n => n.OpType == "Erf") is not { } erf
            || Patterns.Only(context, erf.Outputs[0], n => n.OpType == "Add" && IsScalar(context, Patterns.Other(n, erf.Outputs[0]), 1f)) is not { } plusOne
            || Patterns.Only(context, plusOne.Outputs[0], n => n.OpType == "Mul" && Patterns.Other(n, plusOne.Outputs[0]) == x) is not { } times
            || Patterns.Only(context, times.Outputs[0], n => n.OpType == "Mul" && IsScalar(context, Patterns.Other(n, times.Outputs[0]), 0.5f)) is not { } half)
        {
            return null;
        }

        GraphNode[] nodes = [div, erf, plusOne, times, half];
        if (!context.MayJoin(nodes, inRegionToo: true))
        {
            return null;
        }

        var shape = context.Shape(div, 0);
        foreach (var node in nodes)
        {
            context.SetShape(node.Outputs[0], shape);
            if (node != div)
            {
                context.Absorbed.Add(node);
            }
        }

        return new GeluStep(div, x, half.Outputs[0], shape);
    }

    private static bool IsScalar(PlanContext context, string name, float value) =>
        Patterns.Scalar(context, name) is { } v && Math.Abs(v - value) <= 1e-6f * value;

    private sealed class GeluStep(GraphNode node, string input, string output, int[] shape) : Step(node, [input], [output])
    {
        public override string Label => "Gelu(fused)";

        public override int InPlaceInput => 0;

        public override bool ReadsOutputInBackward => false;

        // Element-wise, so its Jacobian is diagonal: the backward pass's product is the tangent's.
        public override void Tangent(TangentContext context) => context.ThroughSymmetricJacobian();

        /// <summary>Its curvature term is GELU''(x)·ẋ·g (<see cref="UnaryOperator.SecondDerivative"/>).</summary>
        public override void GradientTangent(SecondOrderContext context)
        {
            context.ThroughBackward();
            context.ElementWiseCurvature(d => UnaryOperator.SecondDerivative(context.Backend, UnaryFunction.Gelu, context.Input(0).Data, default, d, shape));
        }

        public override void Run(StepContext context) =>
            context.Backend.Unary(UnaryFunction.Gelu, context.Input(0).Data, context.Output(0, shape).Data);

        public override void Backward(BackwardContext context)
        {
            if (!context.NeedsGradient(0) || context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var dx = Tensor.Uninitialized(context.Backend, shape);
            context.Backend.UnaryBackward(UnaryFunction.Gelu, context.Input(0).Data, default, gradient.Data, dx.Data);
            context.AddGradient(0, dx);
        }
    }
}
