namespace Salient.Engine.Graph.Operators;

/// <summary>Transpose of image data (a strided copy); constant tensors are folded by <see cref="ConstantEvaluator"/>.</summary>
internal static class TransposeOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var perm = Permutation(node, x.Length) ?? throw context.Error(node, $"perm [{string.Join(',', node.GetInts("perm")!)}] is not a permutation of rank {x.Length}");
        var shape = perm.Select(p => x[p]).ToArray();
        var strides = Strided.Strides(x);
        context.SetShape(node.Outputs[0], shape);
        return new StridedCopyStep(node, x, 0, [.. perm.Select(p => strides[p])], shape, shape);
    }

    /// <summary>The perm attribute (reversed axes when absent), or null when it is not a permutation.</summary>
    public static int[]? Permutation(GraphNode node, int rank)
    {
        var perm = node.GetInts("perm")?.Select(p => (int)(p < 0 ? p + rank : p)).ToArray() ?? [.. Enumerable.Range(0, rank).Reverse()];
        return perm.Length == rank && perm.Order().SequenceEqual(Enumerable.Range(0, rank)) ? perm : null;
    }
}
