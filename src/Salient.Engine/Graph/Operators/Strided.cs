using Salient.Engine.Kernels.Cpu;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Index arithmetic for the operators that move values without computing them (Transpose, Slice,
/// Expand, Tile, Gather, Split, Concat): each output element reads the input at
/// offset + Σ index·stride (<see cref="Kernels.IKernelBackend.StridedCopy"/>), and the backward pass
/// adds each gradient back at the same place.
/// </summary>
internal static class Strided
{
    /// <summary>Row-major strides of <paramref name="shape"/>.</summary>
    public static int[] Strides(ReadOnlySpan<int> shape) => StridedCopyKernel.Dense(shape);

    /// <summary>The node's <c>axis</c> attribute (default <paramref name="fallback"/>) for rank <paramref name="rank"/>, made non-negative; throws when out of range.</summary>
    public static int Axis(GraphNode node, PlanContext context, int rank, long fallback)
    {
        var axis = node.GetInt("axis", fallback);
        var resolved = axis < 0 ? axis + rank : axis;
        return resolved >= 0 && resolved < rank ? (int)resolved : throw context.Error(node, $"axis {axis} is out of range for rank {rank}");
    }

    public static int Product(ReadOnlySpan<int> dims)
    {
        var p = 1;
        foreach (var d in dims)
        {
            p *= d;
        }

        return p;
    }

    /// <summary>output[i] = source[offset + Σ index_d·strides[d]] on the host (constant folding at plan time).</summary>
    public static void Gather<T>(ReadOnlySpan<T> source, int offset, ReadOnlySpan<int> strides, ReadOnlySpan<int> shape, Span<T> output) =>
        StridedCopyKernel.Gather(source, offset, strides, shape, output);

    /// <summary>
    /// Copies part <paramref name="index"/> of a tensor of <paramref name="whole"/> shape cut along
    /// <paramref name="axis"/> into pieces of the given extents into its place (<paramref name="toWhole"/>), or back out
    /// (constant folding at plan time).
    /// </summary>
    public static void CopyPart<T>(int[] whole, int axis, int[] extents, int index, Span<T> part, Span<T> wholeData, bool toWhole)
    {
        var (offset, strides, shape) = Part(whole, axis, extents, index);
        var block = Tensor.CheckedLength(shape);
        var outer = Product(whole.AsSpan(0, axis));
        var inner = block / Math.Max(outer, 1);
        for (var o = 0; o < outer; o++)
        {
            var inPart = part.Slice(o * inner, inner);
            var inWhole = wholeData.Slice(offset + (o * strides[0]), inner);
            if (toWhole)
            {
                inPart.CopyTo(inWhole);
            }
            else
            {
                inWhole.CopyTo(inPart);
            }
        }
    }

    /// <summary>
    /// Where part <paramref name="index"/> of a tensor of <paramref name="whole"/> shape cut along <paramref name="axis"/>
    /// into pieces of the given extents lies in it: the offset and strides of a copy of the part's <c>shape</c> =
    /// [outer, extent·inner], contiguous within each outer block.
    /// </summary>
    public static (int Offset, int[] Strides, int[] Shape) Part(int[] whole, int axis, int[] extents, int index)
    {
        var outer = Product(whole.AsSpan(0, axis));
        var inner = Product(whole.AsSpan(axis + 1));
        var before = 0;
        for (var i = 0; i < index; i++)
        {
            before += extents[i];
        }

        return (before * inner, [whole[axis] * inner, 1], [outer, extents[index] * inner]);
    }
}
