using System.Runtime.Intrinsics;
using Salient.Engine.Kernels;
using Salient.Engine.Kernels.Cpu;

namespace Salient.Engine.Tests.Kernels;

public class BackendSelectionTests
{
    [SkippableFact]
    public void OpenBlas_loads_where_it_is_installed()
    {
        Skip.If(Backends.ManagedOnly, "SALIENT_GEMM=managed: this run does not use OpenBLAS");

        Assert.True(CpuBackend.OpenBlasAvailable, "libopenblas.so.0 should load; install libopenblas0 or set SALIENT_GEMM=managed.");
        Assert.Equal("cpu/openblas", new CpuBackend(GemmProvider.OpenBlas).Name);
    }

    [Fact]
    public void Managed_backend_is_named_for_its_gemm()
    {
        Assert.Equal(Vector512.IsHardwareAccelerated ? "cpu/managed" : "cpu/managed-avx2", new CpuBackend(GemmProvider.Managed).Name);
        Assert.Equal("cpu/managed-avx2", new CpuBackend(GemmProvider.ManagedAvx2).Name);
    }

    [Fact]
    public void Default_backend_is_managed_unless_the_environment_asks_for_openblas()
    {
        var openBlas = string.Equals(Environment.GetEnvironmentVariable("SALIENT_GEMM")?.Trim(), "openblas", StringComparison.OrdinalIgnoreCase);
        Assert.Equal(openBlas ? "cpu/openblas" : new CpuBackend(GemmProvider.Managed).Name, KernelBackends.Default.Name);
    }

    [Fact]
    public void Benchmark_measures_throughput_and_estimates_peak()
    {
        Assert.True(GemmBenchmark.MeasureGflops(new CpuBackend(GemmProvider.Managed), 48, TimeSpan.FromMilliseconds(20)) > 0);
        if (OperatingSystem.IsLinux())
        {
            Assert.True(GemmBenchmark.EstimatePeakGflops(8) > 0);
            Assert.Equal(2 * GemmBenchmark.EstimatePeakGflops(8)!.Value, GemmBenchmark.EstimatePeakGflops(16)!.Value, 6);
        }
    }

    [Fact]
    public void Benchmark_names_the_managed_kernel_and_its_vector_width()
    {
        var (kernel, lanes) = GemmBenchmark.DescribeKernel(new CpuBackend(GemmProvider.Managed));
        var narrow = Vector256.IsHardwareAccelerated ? 8 : 1;
        var expected = Vector512.IsHardwareAccelerated ? 16 : narrow;
        Assert.Equal(expected, lanes);
        Assert.Equal($"managed 12x32 ({expected * 32}-bit vectors)", kernel);
        Assert.Equal(narrow, GemmBenchmark.DescribeKernel(new CpuBackend(GemmProvider.ManagedAvx2)).Lanes);
    }

    [SkippableFact]
    public void Benchmark_names_the_openblas_core()
    {
        Skip.If(Backends.ManagedOnly || !CpuBackend.OpenBlasAvailable, "this run does not use OpenBLAS");

        var (kernel, lanes) = GemmBenchmark.DescribeKernel(new CpuBackend(GemmProvider.OpenBlas));
        Assert.StartsWith("openblas ", kernel, StringComparison.Ordinal);
        Assert.Contains(lanes, new[] { 1, 8, 16 });
    }
}
