using Salient.Engine.Kernels.Cpu;

namespace Salient.Engine.Tests.Kernels;

/// <summary>
/// The backends every kernel test runs on. OpenBLAS is installed wherever the tests run, so it
/// must load, unless SALIENT_GEMM=managed says this run is managed-only.
/// </summary>
internal static class Backends
{
    public static readonly TheoryData<string> Names = ["managed", "openblas"];

    /// <summary>
    /// <see cref="Names"/> plus the managed GEMM held to AVX2, for the tests of GEMM and of the
    /// convolutions built on it: the path CPUs without AVX-512 take.
    /// </summary>
    public static readonly TheoryData<string> GemmNames = ["managed", "managed-avx2", "openblas"];

    public static bool ManagedOnly =>
        string.Equals(Environment.GetEnvironmentVariable("SALIENT_GEMM")?.Trim(), "managed", StringComparison.OrdinalIgnoreCase);

    public static CpuBackend Get(string name)
    {
        if (name == "managed-avx2")
        {
            return new CpuBackend(GemmProvider.ManagedAvx2);
        }

        if (name == "managed" || ManagedOnly)
        {
            return new CpuBackend(GemmProvider.Managed);
        }

        var backend = new CpuBackend(GemmProvider.OpenBlas);
        Assert.True(backend.UsesOpenBlas);
        return backend;
    }
}
