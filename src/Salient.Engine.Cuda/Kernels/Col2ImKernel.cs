using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// Folds column matrices back into images, gathered: one thread per input value (n, c, ih, iw)
/// sums the column entries of the taps that read it. <c>col</c> holds per (image, group) a
/// [C/groups·KH·KW, OH·OW] matrix (the input gradient's columns, Wᵀ·dY).
/// </summary>
public static class Col2ImKernel
{
    public static void Run(Index1D thread, ArrayView<float> col, ArrayView<float> dx, Conv2dGeometry g, int outHeight, int outWidth)
    {
        int i = thread;
        var inPlane = g.InHeight * g.InWidth;
        var plane = i / inPlane;
        var ih = (i % inPlane) / g.InWidth;
        var iw = i % g.InWidth;
        var n = plane / g.InChannels;
        var c = plane % g.InChannels;
        var groupChannels = g.InChannels / g.Groups;
        var kernelArea = g.KernelHeight * g.KernelWidth;
        var pixels = outHeight * outWidth;
        var rows = (long)groupChannels * kernelArea;
        var matrix = (((long)n * g.Groups) + (c / groupChannels)) * rows * pixels;
        var firstRow = (long)(c % groupChannels) * kernelArea;
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
                    sum += col[matrix + ((firstRow + (ki * g.KernelWidth) + kj) * pixels) + (oh * outWidth) + ow];
                }
            }
        }

        dx[i] = sum;
    }
}
