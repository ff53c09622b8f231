using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>y[i] = mean + deviation·(normal i of (seed, stream)), by <see cref="CounterRandom.Normal"/>: one thread per value.</summary>
public static class FillNormalKernel
{
    public static void Run(Index1D i, ArrayView<float> y, ulong seed, ulong stream, float mean, float deviation) =>
        y[i] = mean + (deviation * CounterRandom.Normal(seed, stream, i));
}
