using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// Depthwise convolution (groups = in = out channels), one thread per output value:
/// y = act(Σ taps + bias[c] (+ y when accumulating a residual)).
/// </summary>
public static class DepthwiseConv2dKernel
{
    public static void Run(Index1D thread, ArrayView<float> x, ArrayView<float> w, ArrayView<float> bias, ArrayView<float> y,
        Conv2dGeometry g, int outHeight, int outWidth, int hasBias, int accumulate, DeviceActivation activation)
    {
        int i = thread;
        var outPlane = outHeight * outWidth;
        var plane = i / outPlane;
        var c = plane % g.InChannels;
        var h0 = ((i % outPlane) / outWidth * g.StrideHeight) - g.PadTop;
        var w0 = (i % outWidth * g.StrideWidth) - g.PadLeft;
        var src = (long)plane * g.InHeight * g.InWidth;
        var filter = (long)c * g.KernelHeight * g.KernelWidth;
        var sum = 0f;
        for (var ki = 0; ki < g.KernelHeight; ki++)
        {
            var ih = h0 + (ki * g.DilationHeight);
            if ((uint)ih >= (uint)g.InHeight)
            {
                continue;
            }

            for (var kj = 0; kj < g.KernelWidth; kj++)
            {
                var iw = w0 + (kj * g.DilationWidth);
                if ((uint)iw < (uint)g.InWidth)
                {
                    sum += x[src + (ih * g.InWidth) + iw] * w[filter + (ki * g.KernelWidth) + kj];
                }
            }
        }

        if (hasBias != 0)
        {
            sum += bias[c];
        }

        if (accumulate != 0)
        {
            sum += y[i];
        }

        y[i] = activation.Apply(sum);
    }
}
