namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// Up to <see cref="MaxRank"/> merged dimensions with two strides each (0 where an operand is
/// broadcast or an axis summed), as a kernel parameter: maps a flat index over the extents to the
/// two operands' offsets. Dimensions are innermost first.
/// </summary>
public readonly struct BroadcastIndex
{
    public const int MaxRank = 6;

    private readonly int _d0, _d1, _d2, _d3, _d4, _d5;
    private readonly long _a0, _a1, _a2, _a3, _a4, _a5;
    private readonly long _b0, _b1, _b2, _b3, _b4, _b5;

    /// <param name="dims">Extents, innermost first.</param>
    /// <param name="a">First operand's strides, innermost first.</param>
    /// <param name="b">Second operand's strides, innermost first.</param>
    public BroadcastIndex(ReadOnlySpan<int> dims, ReadOnlySpan<long> a, ReadOnlySpan<long> b)
    {
        if (dims.Length > MaxRank)
        {
            throw new ArgumentException($"{dims.Length} dimensions after merging; the GPU kernels take at most {MaxRank}.", nameof(dims));
        }

        Span<int> d = stackalloc int[MaxRank];
        Span<long> sa = stackalloc long[MaxRank];
        Span<long> sb = stackalloc long[MaxRank];
        d.Fill(1);
        dims.CopyTo(d);
        a.CopyTo(sa);
        b.CopyTo(sb);
        (_d0, _d1, _d2, _d3, _d4, _d5) = (d[0], d[1], d[2], d[3], d[4], d[5]);
        (_a0, _a1, _a2, _a3, _a4, _a5) = (sa[0], sa[1], sa[2], sa[3], sa[4], sa[5]);
        (_b0, _b1, _b2, _b3, _b4, _b5) = (sb[0], sb[1], sb[2], sb[3], sb[4], sb[5]);
    }

    /// <summary>The offsets in both operands of flat index <paramref name="index"/>.</summary>
    public void Offsets(long index, out long a, out long b)
    {
        a = 0;
        b = 0;
        Step(ref index, _d0, _a0, _b0, ref a, ref b);
        Step(ref index, _d1, _a1, _b1, ref a, ref b);
        Step(ref index, _d2, _a2, _b2, ref a, ref b);
        Step(ref index, _d3, _a3, _b3, ref a, ref b);
        Step(ref index, _d4, _a4, _b4, ref a, ref b);
        Step(ref index, _d5, _a5, _b5, ref a, ref b);
    }

    private static void Step(ref long rest, int extent, long strideA, long strideB, ref long a, ref long b)
    {
        var i = rest % extent;
        rest /= extent;
        a += i * strideA;
        b += i * strideB;
    }
}
