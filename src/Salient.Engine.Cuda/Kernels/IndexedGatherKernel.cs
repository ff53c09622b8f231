using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>y[i] = x[indices[i]], or <c>fill</c> where the index is negative: one thread per output.</summary>
public static class IndexedGatherKernel
{
    public static void Run(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<int> indices, float fill)
    {
        var k = indices[i];
        y[i] = k >= 0 ? x[k] : fill;
    }
}
