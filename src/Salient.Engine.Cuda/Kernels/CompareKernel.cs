using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>y = 1 where a and b compare as a <see cref="Comparison"/> (as an int) asks, else 0: one thread per value.</summary>
public static class CompareKernel
{
    public static void Run(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, int comparison)
    {
        var holds = comparison switch
        {
            (int)Comparison.Equal => a[i] == b[i],
            (int)Comparison.Less => a[i] < b[i],
            _ => a[i] > b[i],
        };
        y[i] = holds ? 1f : 0f;
    }
}
