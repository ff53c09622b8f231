namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// A convolution's weights prepared once per call as the GEMM left operand of each group: W_g
/// (OC/g × C/g·KH·KW) for the forward pass, or W_gᵀ for the input gradient.
/// </summary>
internal sealed unsafe class ConvGroupWeights : IDisposable
{
    private readonly GemmLhs[] _groups;

    public ConvGroupWeights(CpuGemm gemm, in Conv2dGeometry g, float* weight, bool transposed)
    {
        var ocg = g.OutChannels / g.Groups;
        var kdim = g.InChannels / g.Groups * g.KernelHeight * g.KernelWidth;
        _groups = new GemmLhs[g.Groups];
        try
        {
            for (var grp = 0; grp < g.Groups; grp++)
            {
                var w = weight + ((long)grp * ocg * kdim);
                _groups[grp] = transposed ? gemm.Prepare(kdim, ocg, w, kdim, transA: true) : gemm.Prepare(ocg, kdim, w, kdim);
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public GemmLhs this[int group] => _groups[group];

    public void Dispose()
    {
        foreach (var w in _groups)
        {
            w?.Dispose();
        }
    }
}
