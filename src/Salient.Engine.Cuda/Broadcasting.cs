using Salient.Engine.Cuda.Kernels;

namespace Salient.Engine.Cuda;

/// <summary>
/// Host-side shape arithmetic of the broadcasting kernels: dimensions of extent 1 drop out and
/// neighbours merge while every operand continues them, so realistic shapes reach the kernels as
/// at most <see cref="BroadcastIndex.MaxRank"/> dimensions.
/// </summary>
internal static class Broadcasting
{
    public static long Length(ReadOnlySpan<int> shape)
    {
        long length = 1;
        foreach (var extent in shape)
        {
            if (extent < 0)
            {
                throw new ArgumentException($"Shape [{Format(shape)}] has a negative extent.");
            }

            length *= extent;
        }

        return length;
    }

    public static string Format(ReadOnlySpan<int> shape) => string.Join(',', shape.ToArray());

    /// <summary>The output index → operand offsets map of a with b broadcast to <paramref name="outShape"/>.</summary>
    public static BroadcastIndex Binary(ReadOnlySpan<int> aShape, ReadOnlySpan<int> bShape, ReadOnlySpan<int> outShape)
    {
        var rank = outShape.Length;
        if (aShape.Length > rank || bShape.Length > rank)
        {
            throw Unbroadcastable(aShape, bShape, outShape);
        }

        var dims = new List<int>();
        var sa = new List<long>();
        var sb = new List<long>();
        long strideA = 1, strideB = 1;
        for (var d = rank - 1; d >= 0; d--)
        {
            var n = outShape[d];
            var da = Extent(aShape, d - rank + aShape.Length);
            var db = Extent(bShape, d - rank + bShape.Length);
            if ((da != n && da != 1) || (db != n && db != 1))
            {
                throw Unbroadcastable(aShape, bShape, outShape);
            }

            long ta = da == 1 ? 0 : strideA, tb = db == 1 ? 0 : strideB;
            strideA *= da;
            strideB *= db;
            if (n != 1)
            {
                Append(dims, sa, sb, n, ta, tb);
            }
        }

        return Index(dims, sa, sb, $"[{Format(aShape)}] and [{Format(bShape)}] to [{Format(outShape)}]");
    }

    /// <summary>
    /// For summing <paramref name="inShape"/> down to <paramref name="outShape"/>: the map of an output
    /// index to its first input offset, the map of a summed index to the offset from there, and how
    /// many values each output sums.
    /// </summary>
    public static (BroadcastIndex Kept, BroadcastIndex Summed, long Count) Reduction(ReadOnlySpan<int> inShape, ReadOnlySpan<int> outShape)
    {
        var rank = inShape.Length;
        var offset = rank - outShape.Length;
        if (offset < 0)
        {
            throw NotReducible(inShape, outShape);
        }

        var (keptDims, keptStrides) = (new List<int>(), new List<long>());
        var (summedDims, summedStrides) = (new List<int>(), new List<long>());
        long stride = 1, count = 1;
        for (var d = rank - 1; d >= 0; d--)
        {
            var extent = inShape[d];
            var target = d < offset ? 1 : outShape[d - offset];
            if (target != 1 && target != extent)
            {
                throw NotReducible(inShape, outShape);
            }

            if (extent != 1)
            {
                if (target == 1)
                {
                    Append(summedDims, summedStrides, null, extent, stride, 0);
                    count *= extent;
                }
                else
                {
                    Append(keptDims, keptStrides, null, extent, stride, 0);
                }
            }

            stride *= extent;
        }

        var what = $"[{Format(inShape)}] to [{Format(outShape)}]";
        return (Index(keptDims, keptStrides, null, what), Index(summedDims, summedStrides, null, what), count);
    }

    /// <summary>The index → source and destination offsets map of a strided copy over <paramref name="shape"/>.</summary>
    public static BroadcastIndex Strided(ReadOnlySpan<int> shape, ReadOnlySpan<int> sourceStrides, ReadOnlySpan<int> destinationStrides)
    {
        var dims = new List<int>();
        var sa = new List<long>();
        var sb = new List<long>();
        for (var d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] != 1)
            {
                Append(dims, sa, sb, shape[d], sourceStrides[d], destinationStrides[d]);
            }
        }

        return Index(dims, sa, sb, $"a strided copy of [{Format(shape)}]");
    }

    // Dimensions arrive innermost first; a new one merges into the previous when every operand
    // continues it (stride = previous stride × previous extent, which holds for stride 0 too).
    private static void Append(List<int> dims, List<long> sa, List<long>? sb, int extent, long ta, long tb)
    {
        var last = dims.Count - 1;
        if (last >= 0 && ta == sa[last] * dims[last] && (sb is null || tb == sb[last] * dims[last]))
        {
            dims[last] *= extent;
            return;
        }

        dims.Add(extent);
        sa.Add(ta);
        sb?.Add(tb);
    }

    private static BroadcastIndex Index(List<int> dims, List<long> sa, List<long>? sb, string what)
    {
        if (dims.Count > BroadcastIndex.MaxRank)
        {
            throw new NotSupportedException($"Broadcasting {what} needs {dims.Count} dimensions after merging; the GPU kernels take at most {BroadcastIndex.MaxRank}.");
        }

        var b = sb ?? new List<long>(new long[dims.Count]);
        return new BroadcastIndex(dims.ToArray(), sa.ToArray(), b.ToArray());
    }

    private static int Extent(ReadOnlySpan<int> shape, int index) => index < 0 ? 1 : shape[index];

    private static ArgumentException Unbroadcastable(ReadOnlySpan<int> aShape, ReadOnlySpan<int> bShape, ReadOnlySpan<int> outShape) =>
        new($"Cannot broadcast [{Format(aShape)}] and [{Format(bShape)}] to [{Format(outShape)}].");

    private static ArgumentException NotReducible(ReadOnlySpan<int> inShape, ReadOnlySpan<int> outShape) =>
        new($"Shape [{Format(outShape)}] does not broadcast to [{Format(inShape)}].");
}
