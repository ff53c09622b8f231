using System.Diagnostics;
using System.Globalization;
using Salient.Engine.Kernels.Cpu;
using Salient.Engine.Kernels.Native;

namespace Salient.Engine.Kernels;

/// <summary>GEMM throughput and the machine's nominal FP32 peak, for <c>salient bench gemm</c>.</summary>
public static class GemmBenchmark
{
    /// <summary>
    /// GFLOP/s of square <paramref name="size"/> GEMMs (2·size³ flops each) on
    /// <paramref name="backend"/>, repeated for about <paramref name="duration"/> after one warm-up
    /// call; the rate of the fastest tenth of that time.
    /// </summary>
    public static double MeasureGflops(IKernelBackend backend, int size, TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        var count = size * size;
        var hostA = new float[count];
        var hostB = new float[count];
        var random = new Random(1);
        for (var i = 0; i < count; i++)
        {
            hostA[i] = random.NextSingle() - 0.5f;
            hostB[i] = random.NextSingle() - 0.5f;
        }

        // The operands live on the backend's device, uploaded once: the GEMMs alone are timed.
        using var a = Tensor.Wrap(hostA, size, size).To(backend);
        using var b = Tensor.Wrap(hostB, size, size).To(backend);
        using var c = Tensor.Uninitialized(backend, size, size);
        backend.Gemm(false, false, size, size, size, 1f, a.Data, size, b.Data, size, 0f, c.Data, size);
        backend.Synchronize();

        // The best of ten slices: on a shared machine a plain average mostly measures the neighbours.
        var slice = duration / 10;
        var flops = 2.0 * size * size * size;
        var best = 0.0;
        var total = Stopwatch.StartNew();
        do
        {
            var runs = 0;
            var clock = Stopwatch.StartNew();
            do
            {
                backend.Gemm(false, false, size, size, size, 1f, a.Data, size, b.Data, size, 0f, c.Data, size);
                runs++;
            }
            while (clock.Elapsed < slice);

            backend.Synchronize();

            best = Math.Max(best, flops * runs / clock.Elapsed.TotalSeconds / 1e9);
        }
        while (total.Elapsed < duration);

        return best;
    }

    /// <summary>
    /// The GEMM kernel <paramref name="backend"/> runs and its FP32 vector width in lanes: OpenBLAS's
    /// core type (its AVX-512 kernel sets use 16 lanes, the others at most 8), or the managed micro-kernel
    /// for the vectors the backend uses (the widest the JIT accelerates here, unless held to AVX2).
    /// </summary>
    public static (string Kernel, int Lanes) DescribeKernel(CpuBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (backend.UsesOpenBlas)
        {
            var core = OpenBlasNative.CoreName ?? "unknown core";
            var avx512 = Avx512OpenBlasCores.Contains(core, StringComparer.OrdinalIgnoreCase);
            return ($"openblas {core}", avx512 ? 16 : Math.Min(8, backend.ManagedLanes));
        }

        return ($"managed 12x32 ({backend.ManagedLanes * 32}-bit vectors)", backend.ManagedLanes);
    }

    /// <summary>
    /// Nominal FP32 peak in GFLOP/s for a kernel of <paramref name="lanes"/> lanes: cores × 2 FMA units ×
    /// lanes × 2 flops × clock, the clock from cpufreq's maximum or else /proc/cpuinfo; null where
    /// neither is readable. (A core that splits 512-bit FMAs in two halves reaches half of it at 16 lanes.)
    /// </summary>
    public static double? EstimatePeakGflops(int lanes)
    {
        var ghz = ClockGhz();
        return ghz is null ? null : Environment.ProcessorCount * 2 * lanes * 2 * ghz.Value;
    }

    // OpenBLAS's kernel sets written with AVX-512 instructions.
    private static readonly string[] Avx512OpenBlasCores = ["SkylakeX", "Cooperlake", "SapphireRapids"];

    private static double? ClockGhz()
    {
        try
        {
            const string maxFreq = "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq";
            if (File.Exists(maxFreq) && double.TryParse(File.ReadAllText(maxFreq).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var khz))
            {
                return khz / 1e6;
            }

            const string cpuInfo = "/proc/cpuinfo";
            if (File.Exists(cpuInfo))
            {
                foreach (var line in File.ReadLines(cpuInfo))
                {
                    if (line.StartsWith("cpu MHz", StringComparison.Ordinal))
                    {
                        var value = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
                        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var mhz) ? mhz / 1e3 : null;
                    }
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }
}
