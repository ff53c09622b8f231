using Salient.Engine.Kernels;
using Salient.Engine.Kernels.Cpu;
using Salient.Engine.Kernels.Native;

namespace Salient.Engine.Tests.Kernels;

public class BackendSelectionTests
{
    [SkippableFact]
    public void OpenBlas_loads_where_it_is_installed()
    {
        Skip.If(Backends.ManagedOnly, "SALIENT_GEMM=managed: this run does not use OpenBLAS");

        Assert.True(OpenBlasNative.IsAvailable, "libopenblas.so.0 should load; install libopenblas0 or set SALIENT_GEMM=managed.");
        Assert.Equal("cpu/openblas", new CpuBackend(GemmProvider.OpenBlas).Name);
        Assert.True(OpenBlasNative.NumThreads >= 1);
    }

    [Fact]
    public void Managed_backend_is_named_for_its_gemm() =>
        Assert.Equal("cpu/managed", new CpuBackend(GemmProvider.Managed).Name);

    [Fact]
    public void Default_backend_follows_the_environment() =>
        Assert.Equal(Backends.ManagedOnly || !OpenBlasNative.IsAvailable ? "cpu/managed" : "cpu/openblas", KernelBackends.Default.Name);

    [Fact]
    public void Benchmark_measures_throughput_and_estimates_peak()
    {
        Assert.True(GemmBenchmark.MeasureGflops(new CpuBackend(GemmProvider.Managed), 48, TimeSpan.FromMilliseconds(20)) > 0);
        if (OperatingSystem.IsLinux())
        {
            Assert.True(GemmBenchmark.EstimatePeakGflops() > 0);
        }
    }
}
