namespace Salient.Engine.Graph.Operators;

/// <summary>Tile of image data by constant repeats: a copy through [r0, d0, r1, d1, ...] with zero strides on the repeats.</summary>
internal static class TileOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var repeats = context.Constant(node, 1).AsInts();
        if (repeats.Length != x.Length || repeats.Any(r => r < 0))
        {
            throw context.Error(node, $"repeats [{string.Join(',', repeats)}] do not fit rank {x.Length}");
        }

        var (copyShape, strides, shape) = Layout(x, repeats);
        context.SetShape(node.Outputs[0], shape);
        return new StridedCopyStep(node, x, 0, strides, copyShape, shape);
    }

    /// <summary>The copy that tiles <paramref name="x"/>: its shape [r0, d0, r1, d1, ...], its strides, and the output shape.</summary>
    public static (int[] CopyShape, int[] Strides, int[] Shape) Layout(int[] x, long[] repeats)
    {
        var own = Strided.Strides(x);
        return ([.. x.SelectMany((d, i) => new[] { (int)repeats[i], d })], [.. own.SelectMany(s => new[] { 0, s })], [.. x.Select((d, i) => d * (int)repeats[i])]);
    }
}
