namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// A convolution's weights as the GEMM left operand of each group: W_g (OC/g × C/g·KH·KW) for the
/// forward pass, or W_gᵀ for the input gradient. Packed once per model when the call brings the
/// model's cache (<see cref="WeightCache"/>), else once per call.
/// </summary>
internal sealed unsafe class ConvGroupWeights : IDisposable
{
    private readonly GemmLhs[] _groups;
    private readonly bool _lasting;

    private ConvGroupWeights(CpuGemm gemm, in Conv2dGeometry g, float* weight, bool transposed, bool lasting)
    {
        _lasting = lasting;
        var ocg = g.OutChannels / g.Groups;
        var kdim = g.InChannels / g.Groups * g.KernelHeight * g.KernelWidth;
        _groups = new GemmLhs[g.Groups];
        try
        {
            for (var grp = 0; grp < g.Groups; grp++)
            {
                var w = weight + ((long)grp * ocg * kdim);
                _groups[grp] = transposed ? gemm.Prepare(kdim, ocg, w, kdim, transA: true, lasting) : gemm.Prepare(ocg, kdim, w, kdim, lasting: lasting);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>
    /// The weights of this call: the cached pack when <paramref name="cache"/> keeps one (packed on first use),
    /// else a pack of this call. Dispose it after the call either way (a cached pack stays).
    /// OpenBLAS packs inside each product, so it gets the raw weights per call and caches nothing.
    /// </summary>
    public static ConvGroupWeights For(CpuGemm gemm, in Conv2dGeometry g, float* weight, bool transposed, WeightCache cache)
    {
        if (gemm.UsesOpenBlas || !cache.Keeps)
        {
            return new ConvGroupWeights(gemm, g, weight, transposed, lasting: false);
        }

        var geometry = g;
        return cache.Get(new Form(g.OutChannels, g.InChannels, g.KernelHeight, g.KernelWidth, g.Groups, transposed, gemm.Kernels),
            () => new ConvGroupWeights(gemm, geometry, weight, transposed, lasting: true));
    }

    public GemmLhs this[int group] => _groups[group];

    public void Dispose()
    {
        if (_lasting)
        {
            return;
        }

        foreach (var w in _groups)
        {
            w?.Dispose();
        }
    }

    // The cache key: what the packed layout depends on (not the batch or the image size, so plans for
    // different input shapes share one pack).
    private readonly record struct Form(int OutChannels, int InChannels, int KernelHeight, int KernelWidth, int Groups, bool Transposed,
        ManagedGemm.Kernels Kernels);
}
