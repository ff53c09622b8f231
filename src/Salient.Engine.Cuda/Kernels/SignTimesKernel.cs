using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>y = sign(x)·map[image, position], sign(0) = 0, over [images, channels, plane] x: one thread per value.</summary>
public static class SignTimesKernel
{
    public static void Run(Index1D i, ArrayView<float> x, ArrayView<float> map, ArrayView<float> y, int channels, int plane)
    {
        var image = (int)i / (channels * plane);
        var u = map[((long)image * plane) + ((int)i % plane)];
        var v = x[i];
        y[i] = v > 0f ? u : v < 0f ? -u : 0f;
    }
}
