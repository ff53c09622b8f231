using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>Max pooling, one thread per output; padded taps are skipped (padding never wins), NaN propagates, an all-padding window gives −∞.</summary>
public static class MaxPool2dKernel
{
    public static void Run(Index1D thread, ArrayView<float> x, ArrayView<float> y, Pool2dGeometry g, int outHeight, int outWidth)
    {
        int i = thread;
        var outPlane = outHeight * outWidth;
        var plane = (long)(i / outPlane) * g.InHeight * g.InWidth;
        var h0 = ((i % outPlane) / outWidth * g.StrideHeight) - g.PadTop;
        var w0 = (i % outWidth * g.StrideWidth) - g.PadLeft;
        var max = float.NegativeInfinity;
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
                    max = GroupReduce.MaxPropagatingNaN(x[plane + (ih * g.InWidth) + iw], max);
                }
            }
        }

        y[i] = max;
    }
}
