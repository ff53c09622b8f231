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
        var sum = 0f;
        for (var t = 0; t < s.Taps; t++)
        {
            sum += x[s.Source(i, t, indices, out var tap)] * weights[tap];
        }

        y[i] = sum;
    }
}
