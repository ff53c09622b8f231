using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>target[r·n + i] += scales[r]·pattern[i]: one thread per target value.</summary>
public static class AddScaledKernel
{
    public static void Run(Index1D i, ArrayView<float> pattern, ArrayView<float> scales, ArrayView<float> target, int n) =>
        target[i] += scales[(int)i / n] * pattern[(int)i % n];
}
