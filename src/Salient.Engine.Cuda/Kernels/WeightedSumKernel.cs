using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>y[p] = Σ_c w[c]·maps[c·plane + p], channels in order as on the host: one thread per map value.</summary>
public static class WeightedSumKernel
{
    public static void Run(Index1D i, ArrayView<float> maps, ArrayView<float> weights, ArrayView<float> y, int channels, int plane)
    {
        var sum = 0f;
        for (var c = 0; c < channels; c++)
        {
            sum += maps[((long)c * plane) + i] * weights[c];
        }

        y[i] = sum;
    }
}
