using System.Globalization;
using System.Runtime.InteropServices;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace Salient.Engine.Cuda;

/// <summary>
/// An ILGPU accelerator and the context that compiled its kernels, opened from a device name:
/// <c>cuda</c> or <c>cuda:N</c> (an NVIDIA GPU through the driver's libcuda), or
/// <see cref="CpuSimulatorName"/> (ILGPU's CPU accelerator, which runs the same kernels on the
/// CPU with simulated thread groups: slow, for tests without a GPU).
/// </summary>
public sealed class GpuDevice : IDisposable
{
    /// <summary>The device name of ILGPU's CPU accelerator.</summary>
    public const string CpuSimulatorName = "ilgpu-cpu";

    // Enough threads per simulated group for the kernels' groups (GEMM and reductions use 256).
    private const int SimulatedWarpSize = 32;
    private const int SimulatedWarpsPerGroup = 8;

    private readonly Context _context;

    private GpuDevice(Context context, Accelerator accelerator, string name)
    {
        _context = context;
        Accelerator = accelerator;
        Name = name;
    }

    /// <summary>The name it was opened by, with the hardware's, e.g. "cuda:0 (NVIDIA H200)".</summary>
    public string Name { get; }

    public Accelerator Accelerator { get; }

    /// <summary>Whether this is a real GPU (not <see cref="CpuSimulatorName"/>).</summary>
    public bool IsCuda => Accelerator.AcceleratorType == AcceleratorType.Cuda;

    /// <summary>Opens <c>cuda</c>, <c>cuda:N</c> or <see cref="CpuSimulatorName"/>; anything else, or a CUDA device that is not there, throws naming it.</summary>
    public static GpuDevice Open(string device)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (device == CpuSimulatorName)
        {
            return OpenCpuSimulator();
        }

        if (device == "cuda")
        {
            return OpenCuda(0, device);
        }

        if (device.StartsWith("cuda:", StringComparison.Ordinal)
            && int.TryParse(device.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return OpenCuda(index, device);
        }

        throw new ArgumentException($"Unknown GPU device '{device}': expected cuda, cuda:N or {CpuSimulatorName}.", nameof(device));
    }

    /// <summary>ILGPU's CPU accelerator with groups of up to 256 threads, as the kernels launch them.</summary>
    public static GpuDevice OpenCpuSimulator()
    {
        var device = new CPUDevice(SimulatedWarpSize, SimulatedWarpsPerGroup, 1);
        var context = Context.Create(builder => builder.CPU(device).EnableAlgorithms().Optimize(OptimizationLevel.O1));
        try
        {
            return new GpuDevice(context, context.CreateCPUAccelerator(0), CpuSimulatorName);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether <c>cuda:0</c> can be opened here; when not, <paramref name="reason"/> says why (no
    /// driver library, or a driver with no device).
    /// </summary>
    public static bool CudaAvailable(out string reason)
    {
        try
        {
            using var device = OpenCuda(0, "cuda:0");
            reason = device.Name;
            return true;
        }
        catch (GpuDeviceUnavailableException e)
        {
            reason = e.Message;
            return false;
        }
    }

    private static GpuDevice OpenCuda(int index, string name)
    {
        if (!DriverLoads(out var library))
        {
            throw new GpuDeviceUnavailableException($"GPU device '{name}' is not available: the NVIDIA driver library ({library}) is not installed or cannot be loaded.");
        }

        Context? context = null;
        try
        {
            context = Context.Create(builder => builder.Cuda().EnableAlgorithms().Optimize(OptimizationLevel.O2));
            var devices = context.GetCudaDevices();
            if (index >= devices.Count)
            {
                throw new GpuDeviceUnavailableException(devices.Count == 0
                    ? $"GPU device '{name}' is not available: the NVIDIA driver is installed but reports no CUDA device."
                    : $"GPU device '{name}' is not available: there are {devices.Count} CUDA devices (cuda:0 to cuda:{devices.Count - 1}).");
            }

            var accelerator = devices[index].CreateAccelerator(context);
            return new GpuDevice(context, accelerator, $"cuda:{index} ({accelerator.Name})");
        }
        catch (Exception e) when (e is not GpuDeviceUnavailableException)
        {
            context?.Dispose();
            throw new GpuDeviceUnavailableException($"GPU device '{name}' could not be opened: {e.Message}", e);
        }
        catch
        {
            context?.Dispose();
            throw;
        }
    }

    private static bool DriverLoads(out string library)
    {
        library = OperatingSystem.IsWindows() ? "nvcuda.dll" : "libcuda.so.1";
        if (!NativeLibrary.TryLoad(library, out var handle))
        {
            return false;
        }

        NativeLibrary.Free(handle);
        return true;
    }

    public void Dispose()
    {
        Accelerator.Dispose();
        _context.Dispose();
    }
}

/// <summary>A requested GPU device is not present, or its driver is not.</summary>
public sealed class GpuDeviceUnavailableException : Exception
{
    public GpuDeviceUnavailableException(string message)
        : base(message)
    {
    }

    public GpuDeviceUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
