using System.Globalization;

namespace Salient.Storage.Tests.Conformance;

/// <summary>
/// The process's peak resident memory (Linux: VmHWM in /proc/self/status), which writing 5 to
/// /proc/self/clear_refs resets to the current resident size, so the peak of one step can be measured.
/// </summary>
internal static class PeakMemory
{
    /// <summary>Runs <paramref name="step"/> and returns how far the resident memory rose above where it was before, in bytes.</summary>
    public static async Task<long> GrowthDuringAsync(Func<Task> step)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        await File.WriteAllTextAsync("/proc/self/clear_refs", "5");
        var before = StatusKiB("VmRSS");
        await step();
        return (StatusKiB("VmHWM") - before) * 1024;
    }

    private static long StatusKiB(string field)
    {
        var line = File.ReadLines("/proc/self/status").Single(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
