using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// The adjoint of <see cref="ResampleAxisKernel"/>, one thread per output gradient value: each tap adds
/// weight·gradient to the input it read, atomically (inputs are shared between outputs). The input
/// gradient is zeroed first.
/// </summary>
public static class ResampleAxisBackwardKernel
{
    public static void Run(Index1D i, ArrayView<float> dy, ArrayView<float> dx, ArrayView<int> indices, ArrayView<float> weights, ResampleShape s)
    {
        for (var t = 0; t < s.Taps; t++)
        {
            var source = s.Source(i, t, indices, out var tap);
            Atomic.Add(ref dx[source], weights[tap] * dy[i]);
        }
    }
}
