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

    /// <summary>Every backend of <paramref name="backends"/> with every case of a test's table (its indices).</summary>
    public static TheoryData<string, int> Cross(TheoryData<string> backends, IEnumerable<int> cases)
    {
        var data = new TheoryData<string, int>();
        foreach (var backend in backends)
        {
            foreach (var index in cases)
            {
                data.Add(backend, index);
            }
        }

        return data;
    }

    /// <summary>Every backend with each of the first <paramref name="count"/> cases of a test's table.</summary>
    public static TheoryData<string, int> Cross(TheoryData<string> backends, int count) => Cross(backends, Enumerable.Range(0, count));

    /// <summary>
    /// <see cref="Cross(TheoryData{string}, int)"/> with each pair run twice, once with the test's
    /// switch off and once on (with and without a bias, kept weights or not).
    /// </summary>
    public static TheoryData<string, int, bool> CrossBothWays(TheoryData<string> backends, int count)
    {
        var data = new TheoryData<string, int, bool>();
        foreach (var backend in backends)
        {
            for (var index = 0; index < count; index++)
            {
                data.Add(backend, index, false);
                data.Add(backend, index, true);
            }
        }

        return data;
    }

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
