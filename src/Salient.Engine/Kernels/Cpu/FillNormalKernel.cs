namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// The CPU's <see cref="IKernelBackend.FillNormal"/>: one Philox block per four values, each Box–Muller
/// pair's radius and angle computed once for its two values, chunks of blocks on parallel threads (the values do not depend on the split).
/// </summary>
internal static class FillNormalKernel
{
    // Blocks per parallel chunk, and the rough cost of one (ten rounds, two logarithms, four sines).
    private const int ChunkBlocks = 1024;
    private const int BlockWork = 200;

    public static void Run(ulong seed, ulong stream, float mean, float deviation, Memory<float> target)
    {
        var blocks = (target.Length + 3) / 4;
        var chunks = (blocks + ChunkBlocks - 1) / ChunkBlocks;
        CpuParallel.For(chunks, (long)ChunkBlocks * BlockWork, chunk =>
        {
            var values = target.Span;
            var end = Math.Min(blocks, (chunk + 1) * ChunkBlocks);
            for (var block = chunk * ChunkBlocks; block < end; block++)
            {
                var first = 4 * block;
                var words = CounterRandom.Block(seed, stream, first);
                var count = Math.Min(4, values.Length - first);
                for (var pair = 0; pair < count; pair += 2)
                {
                    var radius = CounterRandom.Radius(pair == 0 ? words.W0 : words.W2);
                    var angle = CounterRandom.Angle(pair == 0 ? words.W1 : words.W3);
                    values[first + pair] = mean + (deviation * (radius * MathF.Cos(angle)));
                    if (pair + 1 < count)
                    {
                        values[first + pair + 1] = mean + (deviation * (radius * MathF.Sin(angle)));
                    }
                }
            }
        });
    }
}
