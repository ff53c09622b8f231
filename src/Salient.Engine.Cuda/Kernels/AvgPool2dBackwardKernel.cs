using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>Average pooling's input gradient, gathered: one thread per input value sums grad/divisor over the windows that read it.</summary>
public static class AvgPool2dBackwardKernel
{
    public static void Run(Index1D thread, ArrayView<float> dy, ArrayView<float> dx, PoolShape g, int countIncludePad)
    {
        int i = thread;
        var inPlane = g.InHeight * g.InWidth;
        var index = i % inPlane;
        var ih = index / g.InWidth;
        var iw = index % g.InWidth;
        var outPlane = (long)(i / inPlane) * g.OutHeight * g.OutWidth;
        var sum = 0f;
        for (var ki = 0; ki < g.KernelHeight; ki++)
        {
            var oh = PoolWindow.WindowOf(ih, ki, g.StrideHeight, g.PadTop, g.DilationHeight, g.OutHeight);
            if (oh < 0)
            {
                continue;
            }

            var rows = Pool2dGeometry.DivisorTaps((oh * g.StrideHeight) - g.PadTop, g.KernelHeight, g.DilationHeight, g.InHeight, g.PadTop, g.PadBottom, countIncludePad != 0);
            for (var kj = 0; kj < g.KernelWidth; kj++)
            {
                var ow = PoolWindow.WindowOf(iw, kj, g.StrideWidth, g.PadLeft, g.DilationWidth, g.OutWidth);
                if (ow < 0)
                {
                    continue;
                }

                var count = rows * Pool2dGeometry.DivisorTaps((ow * g.StrideWidth) - g.PadLeft, g.KernelWidth, g.DilationWidth, g.InWidth, g.PadLeft, g.PadRight, countIncludePad != 0);
                sum += dy[outPlane + (oh * g.OutWidth) + ow] / count;
            }
        }

        dx[i] = sum;
    }
}
