using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// The backward of broadcasting, one thread per output value: sums the input over the summed axes.
/// <c>kept</c> maps an output index to its first input offset (output extents, input strides);
/// <c>summed</c> walks the summed axes (their extents and input strides).
/// </summary>
public static class ReduceToShapeKernel
{
    public static void Run(Index1D i, ArrayView<float> x, ArrayView<float> y, BroadcastIndex kept, BroadcastIndex summed, long count)
    {
        kept.Offsets(i, out var start, out _);
        var sum = 0f;
        for (long s = 0; s < count; s++)
        {
            summed.Offsets(s, out var offset, out _);
            sum += x[start + offset];
        }

        y[i] = sum;
    }
}
