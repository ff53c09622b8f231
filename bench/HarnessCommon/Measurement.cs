using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Salient.Bench;

/// <summary>
/// Timing, memory and the JSON line of a harness: the fields and conventions of
/// bench/torch_forward.py's <c>timing_summary</c>, so bench/report.py reads every engine alike.
/// </summary>
internal static partial class Measurement
{
    /// <summary>Runs <paramref name="run"/> <paramref name="warmup"/> times untimed, then returns the
    /// wall-clock seconds of each of <paramref name="iterations"/> timed runs.</summary>
    public static List<double> Time(Action run, int warmup, int iterations)
    {
        for (var i = 0; i < warmup; i++)
        {
            run();
        }
        var seconds = new List<double>(iterations);
        for (var i = 0; i < iterations; i++)
        {
            var start = Stopwatch.GetTimestamp();
            run();
            seconds.Add(Stopwatch.GetElapsedTime(start).TotalSeconds);
        }
        return seconds;
    }

    /// <summary>The JSON record of one measurement: images/s is batch / mean seconds per batch.</summary>
    public static JsonObject Summary(HarnessOptions options, IReadOnlyList<double> seconds, double rssAfterLoadMb, string backend)
    {
        var mean = seconds.Average();
        var sorted = seconds.Order().ToList();
        var record = new JsonObject
        {
            ["model"] = options.Model,
            ["batch"] = options.Batch,
            ["size"] = options.Size,
            ["threads"] = options.Threads,
            ["iterations"] = options.Iterations,
            ["images_per_second"] = Math.Round(options.Batch / mean, 3),
            ["seconds_per_batch"] = Math.Round(mean, 4),
            ["seconds_per_batch_min"] = Math.Round(sorted[0], 4),
            ["seconds_per_batch_median"] = Math.Round(sorted[sorted.Count / 2], 4),
            // On a shared 2-core machine one busy neighbour stalls every thread barrier; the best
            // batch is the more reproducible figure (as on the PyTorch side).
            ["images_per_second_best"] = Math.Round(options.Batch / sorted[0], 3),
            ["load_average_1m"] = LoadAverage(),
            ["peak_rss_mb"] = Math.Round(PeakRssMb(), 1),
            ["rss_after_import_mb"] = Math.Round(rssAfterLoadMb, 1),
            ["backend"] = backend,
        };
        if (options.Method is not null)
        {
            record["method"] = options.Method;
        }
        return record;
    }

    /// <summary>Prints the record as the one JSON line bench/run.sh picks up.</summary>
    public static void Print(JsonObject record) =>
        Console.WriteLine(record.ToJsonString(new JsonSerializerOptions { WriteIndented = false }));

    /// <summary>This process's peak resident set so far (getrusage ru_maxrss, KiB on Linux), in MiB:
    /// the same high-water mark the PyTorch side reports.</summary>
    public static double PeakRssMb()
    {
        var usage = new long[18]; // struct rusage on 64-bit Linux: 2 timevals (4 longs), then 14 longs
        if (GetRUsage(0 /* RUSAGE_SELF */, usage) != 0)
        {
            throw new InvalidOperationException($"getrusage failed (errno {Marshal.GetLastPInvokeError()})");
        }
        return usage[4] / 1024.0; // ru_maxrss
    }

    private static double LoadAverage()
    {
        var text = File.ReadAllText("/proc/loadavg");
        return Math.Round(double.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture), 2);
    }

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetRUsage(int who, [Out] long[] usage);
}
