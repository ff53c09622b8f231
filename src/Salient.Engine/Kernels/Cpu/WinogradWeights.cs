using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>The filter side of one Winograd tile size: how many transform points it has, and U = G·g·Gᵀ.</summary>
internal unsafe interface IWinogradTile
{
    /// <summary>Elements of a transformed tile: the number of GEMMs a convolution becomes.</summary>
    static abstract int Points { get; }

    /// <summary>U = G·g·Gᵀ for 3×3 filters [start, end) of <paramref name="filters"/>, stored point-major: u[ξ·filters + filter].</summary>
    static abstract void TransformFilters(int start, int end, int filters, float* weight, float* u);
}

/// <summary>
/// A convolution's filters as the GEMM left operands U_ξ[OC, C] of a Winograd kernel, one per point ξ: for
/// the forward pass, or (<c>flipped</c>) for its input gradient, whose filters are the forward
/// ones flipped with their channel axes swapped. Transformed and packed once per model when the
/// call brings a <see cref="WeightCache"/> that keeps them (like <see cref="ConvGroupWeights"/>),
/// else once per call.
/// </summary>
internal sealed unsafe class WinogradWeights : IDisposable
{
    // Filters per task of the weight transform.
    private const int FilterBlock = 4096;

    private readonly GemmLhs[] _points;
    private readonly bool _lasting;

    // The U matrices the points were made from, held while the products may read them: OpenBLAS
    // packs inside each product; the managed GEMM's packs are copies, so a lasting entry lets go at once.
    private float[]? _transformed;

    private WinogradWeights(GemmLhs[] points, float[] transformed, bool lasting)
    {
        _points = points;
        _transformed = transformed;
        _lasting = lasting;
        if (lasting)
        {
            HostArrayPool.Shared.Return(_transformed);
            _transformed = null;
        }
    }

    public GemmLhs this[int point] => _points[point];

    /// <summary>Whether <see cref="For{TTile}"/> keeps the operands past the call: OpenBLAS packs inside each product, so it never does.</summary>
    public static bool Lasting(CpuGemm gemm, WeightCache cache) => !gemm.UsesOpenBlas && cache.Keeps;

    /// <summary>
    /// This call's operands: the cached ones when <paramref name="weights"/> keeps them (made on first use),
    /// else ones of this call; dispose after the call either way (a cached entry stays).
    /// </summary>
    public static WinogradWeights For<TTile>(CpuGemm gemm, in Conv2dGeometry g, WeightCache weights, bool flipped)
        where TTile : IWinogradTile
    {
        int outChannels = g.OutChannels, inChannels = g.InChannels;
        if (!Lasting(gemm, weights))
        {
            return Make<TTile>(gemm, outChannels, inChannels, weights, flipped, lasting: false);
        }

        return weights.Get(new Form(outChannels, inChannels, flipped, TTile.Points, gemm.Kernels),
            () => Make<TTile>(gemm, outChannels, inChannels, weights, flipped, lasting: true));
    }

    public void Dispose()
    {
        if (!_lasting)
        {
            Release(_points, _transformed);
            _transformed = null;
        }
    }

    private static WinogradWeights Make<TTile>(CpuGemm gemm, int outChannels, int inChannels, WeightCache weights, bool flipped, bool lasting)
        where TTile : IWinogradTile
    {
        int rows = flipped ? inChannels : outChannels, cols = flipped ? outChannels : inChannels;
        var filters = rows * cols;
        var points = new GemmLhs[TTile.Points];
        var transformed = HostArrayPool.Shared.Rent(TTile.Points * filters);
        var flippedBuffer = flipped ? HostArrayPool.Shared.Rent(filters * 9) : null;
        try
        {
            using var pinned = weights.Pin();
            fixed (float* u = transformed, f = flippedBuffer)
            {
                var weight = (float*)pinned.Pointer;
                var w = weight;
                if (flipped)
                {
                    Flip(weight, outChannels, inChannels, f);
                    w = f;
                }

                var dst = u;
                CpuParallel.For((filters + FilterBlock - 1) / FilterBlock, FilterBlock * 4L * TTile.Points,
                    b => TTile.TransformFilters(b * FilterBlock, Math.Min(filters, (b + 1) * FilterBlock), filters, w, dst));
                for (var p = 0; p < points.Length; p++)
                {
                    points[p] = gemm.Prepare(rows, cols, u + ((long)p * filters), cols, lasting: lasting);
                }
            }
        }
        catch
        {
            Release(points, transformed);
            throw;
        }
        finally
        {
            if (flippedBuffer is not null)
            {
                HostArrayPool.Shared.Return(flippedBuffer);
            }
        }

        return new WinogradWeights(points, transformed, lasting);
    }

    private static void Release(GemmLhs[] points, float[]? transformed)
    {
        foreach (var p in points)
        {
            p?.Dispose();
        }

        if (transformed is not null)
        {
            HostArrayPool.Shared.Return(transformed);
        }
    }

    // w[c][o] = the forward filter [o][c] turned by 180°.
    private static void Flip(float* weight, int outChannels, int inChannels, float* w)
    {
        for (var o = 0; o < outChannels; o++)
        {
            for (var c = 0; c < inChannels; c++)
            {
                var src = weight + (((long)o * inChannels) + c) * 9;
                var dst = w + (((long)c * outChannels) + o) * 9;
                for (var k = 0; k < 9; k++)
                {
                    dst[k] = src[8 - k];
                }
            }
        }
    }

    // The cache key: what the transformed layout depends on.
    private readonly record struct Form(int OutChannels, int InChannels, bool Flipped, int Points, ManagedGemm.Kernels Kernels);
}
