using Salient.Engine.Kernels.Cpu;

namespace Salient.Engine.Kernels;

/// <summary>Shared backend instances.</summary>
public static class KernelBackends
{
    private static readonly Lazy<IKernelBackend> s_default = new(() => new CpuBackend());

    /// <summary>The CPU backend with the GEMM chosen by <c>SALIENT_GEMM</c>, else OpenBLAS when present.</summary>
    public static IKernelBackend Default => s_default.Value;
}
