using System.Buffers;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// A convolution's weights as the GEMM left operand of each group: W_g (OC/g × C/g·KH·KW) for the
/// forward pass, packed once per model when the call brings the model's cache (<see cref="WeightCache"/>),
/// else once per call; or W_gᵀ for the input gradient, packed once per call.
/// </summary>
internal sealed unsafe class ConvGroupWeights : IDisposable
{
    private readonly GemmLhs[] _groups;
    private readonly bool _lasting;

    // The weights, pinned while the operands may read them: OpenBLAS packs inside each product, from the
    // weights themselves; the managed GEMM's packs are copies, so a lasting pack lets go at once.
    private MemoryHandle _weights;

    private ConvGroupWeights(CpuGemm gemm, in Conv2dGeometry g, WeightCache weights, bool transposed, bool lasting)
    {
        _lasting = lasting;
        var ocg = g.OutChannels / g.Groups;
        var kdim = g.InChannels / g.Groups * g.KernelHeight * g.KernelWidth;
        _groups = new GemmLhs[g.Groups];
        _weights = weights.Pin();
        try
        {
            var weight = (float*)_weights.Pointer;
            for (var grp = 0; grp < g.Groups; grp++)
            {
                var w = weight + ((long)grp * ocg * kdim);
                _groups[grp] = transposed ? gemm.Prepare(kdim, ocg, w, kdim, transA: true, lasting) : gemm.Prepare(ocg, kdim, w, kdim, lasting: lasting);
            }
        }
        catch
        {
            Release();
            throw;
        }

        if (lasting)
        {
            _weights.Dispose();
        }
    }

    /// <summary>
    /// The weights of this call: the cached pack of the forward weights when <paramref name="weights"/> keeps
    /// one (packed on first use), else a pack of this call. Dispose it after the call either way (a cached
    /// pack stays). OpenBLAS packs inside each product, so it gets the raw weights per call and caches
    /// nothing. Transposed packs are never kept: packing Wᵀ once per backward pass costs a few percent of
    /// the pass's own GEMMs, and keeping them held a second copy of most of a model's weights for the life
    /// of a model that explains (docs/benchmarks/2026-12-03-weights-memory.md).
    /// </summary>
    public static ConvGroupWeights For(CpuGemm gemm, in Conv2dGeometry g, WeightCache weights, bool transposed)
    {
        if (gemm.UsesOpenBlas || !weights.Keeps || transposed)
        {
            return new ConvGroupWeights(gemm, g, weights, transposed, lasting: false);
        }

        // Threads asking at once for the same weights share one pack, made by whichever gets there first.
        var geometry = g;
        return weights.Get(new Form(g.OutChannels, g.InChannels, g.KernelHeight, g.KernelWidth, g.Groups, gemm.Kernels),
            () => new ConvGroupWeights(gemm, geometry, weights, transposed: false, lasting: true));
    }

    public GemmLhs this[int group] => _groups[group];

    public void Dispose()
    {
        if (!_lasting)
        {
            Release();
        }
    }

    private void Release()
    {
        foreach (var w in _groups)
        {
            w?.Dispose();
        }

        _weights.Dispose();
    }

    // The cache key: what the packed layout depends on (not the batch or the image size, so plans for
    // different input shapes share one pack).
    private readonly record struct Form(int OutChannels, int InChannels, int KernelHeight, int KernelWidth, int Groups, ManagedGemm.Kernels Kernels);
}
