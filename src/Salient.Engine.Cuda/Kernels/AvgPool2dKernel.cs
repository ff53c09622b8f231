using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>Average pooling, one thread per output, with <see cref="Pool2dGeometry.DivisorTaps"/>'s divisor rule (an empty divisor gives 0).</summary>
public static class AvgPool2dKernel
{
    public static void Run(Index1D thread, ArrayView<float> x, ArrayView<float> y, PoolShape g, int countIncludePad)
    {
        int i = thread;
        var outPlane = g.OutHeight * g.OutWidth;
        var plane = (long)(i / outPlane) * g.InHeight * g.InWidth;
        var h0 = ((i % outPlane) / g.OutWidth * g.StrideHeight) - g.PadTop;
        var w0 = (i % g.OutWidth * g.StrideWidth) - g.PadLeft;
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
                    sum += x[plane + (ih * g.InWidth) + iw];
                }
            }
        }

        var count = Pool2dGeometry.DivisorTaps(h0, g.KernelHeight, g.DilationHeight, g.InHeight, g.PadTop, g.PadBottom, countIncludePad != 0)
            * Pool2dGeometry.DivisorTaps(w0, g.KernelWidth, g.DilationWidth, g.InWidth, g.PadLeft, g.PadRight, countIncludePad != 0);
        y[i] = count == 0 ? 0f : sum / count;
    }
}
