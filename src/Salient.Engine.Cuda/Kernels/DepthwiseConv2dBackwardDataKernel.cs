using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>Depthwise convolution's input gradient, gathered: one thread per input value sums dy·w over the outputs that read it.</summary>
public static class DepthwiseConv2dBackwardDataKernel
{
    public static void Run(Index1D thread, ArrayView<float> w, ArrayView<float> dy, ArrayView<float> dx, Conv2dGeometry g, int outHeight, int outWidth)
    {
        int i = thread;
        var inPlane = g.InHeight * g.InWidth;
        var plane = i / inPlane;
        var ih = (i % inPlane) / g.InWidth;
        var iw = i % g.InWidth;
        var filter = (long)(plane % g.InChannels) * g.KernelHeight * g.KernelWidth;
        var grad = (long)plane * outHeight * outWidth;
        var sum = 0f;
        for (var ki = 0; ki < g.KernelHeight; ki++)
        {
            var oh = PoolWindow.WindowOf(ih, ki, g.StrideHeight, g.PadTop, g.DilationHeight, outHeight);
            if (oh < 0)
            {
                continue;
            }

            for (var kj = 0; kj < g.KernelWidth; kj++)
            {
                var ow = PoolWindow.WindowOf(iw, kj, g.StrideWidth, g.PadLeft, g.DilationWidth, outWidth);
                if (ow >= 0)
                {
                    sum += dy[grad + (oh * outWidth) + ow] * w[filter + (ki * g.KernelWidth) + kj];
                }
            }
        }

        dx[i] = sum;
    }
}
