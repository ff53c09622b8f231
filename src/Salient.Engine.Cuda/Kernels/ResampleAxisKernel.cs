using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// One axis of a resampling, one thread per output value of [outer, outSize, inner]: the sum of its
/// taps' weight·input, taps in order (<see cref="Engine.Kernels.AxisResampling"/>).
/// </summary>
public static class ResampleAxisKernel
{
    public static void Run(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<int> indices, ArrayView<float> weights, ResampleShape s)
    {
        var inner = i.X % s.Inner;
        var j = (i.X / s.Inner) % s.OutSize;
        var o = (long)(i.X / s.Inner / s.OutSize);
        var sum = 0f;
        for (var t = 0; t < s.Taps; t++)
        {
            var tap = (j * s.Taps) + t;
            sum += x[(((o * s.InSize) + indices[tap]) * s.Inner) + inner] * weights[tap];
        }

        y[i] = sum;
    }
}
