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
        var inner = i.X % s.Inner;
        var j = (i.X / s.Inner) % s.OutSize;
        var o = (long)(i.X / s.Inner / s.OutSize);
        for (var t = 0; t < s.Taps; t++)
        {
            var tap = (j * s.Taps) + t;
            Atomic.Add(ref dx[(((o * s.InSize) + indices[tap]) * s.Inner) + inner], weights[tap] * dy[i]);
        }
    }
}
