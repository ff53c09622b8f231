using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Equal, Less and Greater on image data, with numpy broadcasting: 1 where true, 0 where false, as
/// floats (the engine's only run-time type; Where reads them back). No gradient flows through a
/// comparison. Comparisons of constants are folded by <see cref="ConstantEvaluator"/>.
/// </summary>
internal static class CompareOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var a = context.Shape(node, 0);
        var b = context.Shape(node, 1);
        var shape = BinaryOperator.BroadcastShape(a, b) ?? throw context.Error(node, $"shapes [{Tensor.FormatShape(a)}] and [{Tensor.FormatShape(b)}] do not broadcast");
        var comparison = node.OpType switch
        {
            "Equal" => Comparison.Equal,
            "Less" => Comparison.Less,
            _ => Comparison.Greater,
        };
        context.SetShape(node.Outputs[0], shape);
        return new CompareStep(node, a, b, shape, comparison);
    }

    private sealed class CompareStep(GraphNode node, int[] aShape, int[] bShape, int[] shape, Comparison comparison)
        : Step(node, [node.Inputs[0], node.Inputs[1]], [node.Outputs[0]])
    {
        public override bool ReadsInputInBackward(int index) => false;

        public override bool ReadsOutputInBackward => false;

        public override void Run(StepContext context)
        {
            var backend = context.Backend;
            using var a = ExpandOperator.Broadcast(backend, context.Input(0), aShape, shape);
            using var b = ExpandOperator.Broadcast(backend, context.Input(1), bShape, shape);
            backend.Compare(comparison, a.Data, b.Data, context.Output(0, shape).Data);
        }

        // Piecewise constant: its output has no tangent (a zero one).
        public override void Tangent(Backward.TangentContext context)
        {
        }

        // No gradient, so no gradient tangent.
        public override void GradientTangent(Backward.SecondOrderContext context)
        {
        }

        public override bool ReadsTangentsInSecondOrder => false;

        // A comparison is piecewise constant: its inputs get no gradient from it.
        public override void Backward(Backward.BackwardContext context)
        {
        }
    }
}
