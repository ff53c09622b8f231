using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>y[p] = max over channels of |x[c·plane + p]|, NaN kept: one thread per map value.</summary>
public static class ChannelMaxAbsKernel
{
    public static void Run(Index1D i, ArrayView<float> x, ArrayView<float> y, int channels, int plane)
    {
        var max = 0f;
        for (var c = 0; c < channels; c++)
        {
            var v = x[((long)c * plane) + i];
            max = DeviceActivation.Max(max, v < 0f ? -v : v);
        }

        y[i] = max;
    }
}
