namespace Salient.Engine.Graph.Operators;

/// <summary>Expand (numpy broadcasting to a constant shape) of image data: a copy with zero strides on the broadcast axes.</summary>
internal static class ExpandOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var target = context.Constant(node, 1).AsInts().Select(d => (int)d).ToArray();
        var shape = BinaryOperator.BroadcastShape(x, target) ?? throw context.Error(node, $"[{Tensor.FormatShape(x)}] does not broadcast to [{string.Join(',', target)}]");
        context.SetShape(node.Outputs[0], shape);
        return new StridedCopyStep(node, x, 0, BroadcastStrides(x, shape), shape, shape);
    }

    /// <summary>Strides that read <paramref name="x"/> broadcast to <paramref name="shape"/>: zero on the axes it is repeated along.</summary>
    public static int[] BroadcastStrides(int[] x, int[] shape)
    {
        var own = Strided.Strides(x);
        var lead = shape.Length - x.Length;
        return [.. shape.Select((_, d) => d < lead || x[d - lead] == 1 ? 0 : own[d - lead])];
    }
}
