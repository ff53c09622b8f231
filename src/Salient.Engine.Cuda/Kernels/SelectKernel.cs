using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>y = condition ≠ 0 ? a : b, a branch flagged absent reading as 0: one thread per value.</summary>
public static class SelectKernel
{
    public static void Run(Index1D i, ArrayView<float> condition, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, int hasA, int hasB)
    {
        y[i] = condition[i] != 0f ? (hasA != 0 ? a[i] : 0f) : (hasB != 0 ? b[i] : 0f);
    }
}
