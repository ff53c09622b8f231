namespace Salient.Engine.Kernels.Cpu;

/// <summary>Parallel loops that stay serial when the work is too small to pay for the threads.</summary>
internal static class CpuParallel
{
    // Roughly the number of simple float operations that outweighs waking a pool thread.
    private const long MinParallelWork = 1L << 15;

    public static int MaxThreads => Environment.ProcessorCount;

    /// <summary>Runs <paramref name="body"/> for 0..count-1, each item costing about <paramref name="workPerItem"/>.</summary>
    public static void For(int count, long workPerItem, Action<int> body)
    {
        if (count <= 1 || MaxThreads == 1 || count * workPerItem < MinParallelWork)
        {
            for (var i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = MaxThreads }, body);
    }
}
