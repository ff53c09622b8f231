using ILGPU;
using ILGPU.Runtime;
using Salient.Engine.Cuda.Kernels;
using Salient.Engine.Kernels;

// ILGPU's CPU accelerator runs each group on its own threads; tests running side by side would
// only fight over the cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Salient.Engine.Cuda.Tests;

/// <summary>
/// The devices every kernel test runs on: ILGPU's CPU accelerator always, CUDA when a device and
/// driver are present (skipped, with the reason, when not). Each is opened once per test run;
/// an unavailable CUDA device is retried by each test, which costs only a failed library load.
/// </summary>
internal static class Devices
{
    // SALIENT_TEST_CUDA=cuda:N (bench/gpu-check.sh) leaves the CPU accelerator out and runs the "cuda" cases on that device.
    private static readonly string? s_cuda = Environment.GetEnvironmentVariable("SALIENT_TEST_CUDA") is { Length: > 0 } chosen ? chosen : null;

    public static readonly TheoryData<string> Names = s_cuda is null ? [GpuDevice.CpuSimulatorName, "cuda"] : ["cuda"];

    private static readonly Dictionary<string, DeviceUnderTest> s_open = [];

    /// <summary>Every device with every case index below <paramref name="count"/>.</summary>
    public static TheoryData<string, int> Cases(int count)
    {
        var data = new TheoryData<string, int>();
        foreach (var device in Names)
        {
            for (var i = 0; i < count; i++)
            {
                data.Add(device, i);
            }
        }

        return data;
    }

    /// <summary>The CPU backend the GPU kernels must agree with.</summary>
    public static IKernelBackend Cpu => KernelBackends.Default;

    // The "cuda" cases run on SALIENT_TEST_CUDA when set, else on cuda:0; skipped with the reason when it cannot be opened.
    private static GpuDevice OpenCuda()
    {
        try
        {
            return GpuDevice.Open(s_cuda ?? "cuda");
        }
        catch (GpuDeviceUnavailableException e)
        {
            throw new SkipException(e.Message);
        }
    }

    public static DeviceUnderTest Get(string name)
    {
        lock (s_open)
        {
            if (!s_open.TryGetValue(name, out var device))
            {
                s_open[name] = device = new DeviceUnderTest(name == GpuDevice.CpuSimulatorName ? GpuDevice.OpenCpuSimulator() : OpenCuda());
            }

            return device;
        }
    }
}

/// <summary>An opened device with its kernels, and copies to and from it.</summary>
internal sealed class DeviceUnderTest(GpuDevice device)
{
    public GpuDevice Device { get; } = device;

    public GpuKernels Kernels { get; } = new(device.Accelerator);

    private readonly Dictionary<GemmTiles, GpuKernels> _byTiles = [];

    /// <summary>Kernels whose GEMMs always use <paramref name="tiles"/> (one instance per tiling, kept with the device).</summary>
    public GpuKernels KernelsWith(GemmTiles tiles)
    {
        lock (_byTiles)
        {
            if (!_byTiles.TryGetValue(tiles, out var kernels))
            {
                _byTiles[tiles] = kernels = new GpuKernels(Device.Accelerator) { GemmTiles = tiles };
            }

            return kernels;
        }
    }

    public MemoryBuffer1D<float, Stride1D.Dense> Upload(float[] data) =>
        data.Length == 0 ? Device.Accelerator.Allocate1D<float>(0) : Device.Accelerator.Allocate1D(data);

    public float[] Download(MemoryBuffer1D<float, Stride1D.Dense> buffer)
    {
        Kernels.Synchronize();
        return buffer.Length == 0 ? [] : buffer.GetAsArray1D();
    }

    /// <summary>Runs <paramref name="run"/> on device copies of <paramref name="inputs"/> and an output initialised to <paramref name="output"/>; returns the output.</summary>
    public float[] Run(float[] output, Action<ArrayView<float>[], ArrayView<float>> run, params float[][] inputs)
    {
        var buffers = inputs.Select(Upload).ToArray();
        using var result = Upload(output);
        try
        {
            run([.. buffers.Select(b => b.View.AsContiguous())], result.View.AsContiguous());
            return Download(result);
        }
        finally
        {
            foreach (var buffer in buffers)
            {
                buffer.Dispose();
            }
        }
    }
}
