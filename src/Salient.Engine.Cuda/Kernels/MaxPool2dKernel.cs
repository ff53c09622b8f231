using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>Max pooling, one thread per output; padded taps are skipped (padding never wins), NaN propagates, an all-padding window gives −∞.</summary>
public static class MaxPool2dKernel
{
    public static void Run(Index1D thread, ArrayView<float> x, ArrayView<float> y, PoolShape g)
    {
        int i = thread;
        var outPlane = g.OutHeight * g.OutWidth;
        var plane = (long)(i / outPlane) * g.InHeight * g.InWidth;
        var h0 = ((i % outPlane) / g.OutWidth * g.StrideHeight) - g.PadTop;
        var w0 = (i % g.OutWidth * g.StrideWidth) - g.PadLeft;
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
