using System.Diagnostics;
using System.Globalization;

namespace Salient.Engine.Kernels;

/// <summary>GEMM throughput and the machine's nominal FP32 peak, for <c>salient bench gemm</c>.</summary>
internal static class GemmBenchmark
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
        var a = new float[count];
        var b = new float[count];
        var c = new float[count];
        var random = new Random(1);
        for (var i = 0; i < count; i++)
        {
            a[i] = random.NextSingle() - 0.5f;
            b[i] = random.NextSingle() - 0.5f;
        }

        backend.Gemm(false, false, size, size, size, 1f, a, size, b, size, 0f, c, size);

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
                backend.Gemm(false, false, size, size, size, 1f, a, size, b, size, 0f, c, size);
                runs++;
            }
            while (clock.Elapsed < slice);

            best = Math.Max(best, flops * runs / clock.Elapsed.TotalSeconds / 1e9);
        }
        while (total.Elapsed < duration);

        return best;
    }

    /// <summary>
    /// Nominal FP32 peak in GFLOP/s: cores × 2 FMA units × 8 lanes × 2 flops × clock, the clock
    /// from cpufreq's maximum or else /proc/cpuinfo; null where neither is readable.
    /// </summary>
    public static double? EstimatePeakGflops()
    {
        var ghz = ClockGhz();
        return ghz is null ? null : Environment.ProcessorCount * 2 * 8 * 2 * ghz.Value;
    }

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
