using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>target[indices[i]] += gradient[i] where the index is not negative, atomically (several outputs may copy one input): one thread per gradient.</summary>
public static class IndexedScatterAddKernel
{
    public static void Run(Index1D i, ArrayView<float> gradient, ArrayView<float> target, ArrayView<int> indices)
    {
        var k = indices[i];
        if (k >= 0)
        {
            Atomic.Add(ref target[k], gradient[i]);
        }
    }
}
