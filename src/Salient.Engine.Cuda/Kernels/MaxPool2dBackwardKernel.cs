using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// Max pooling's input gradient, gathered: one thread per input value sums the gradients of the
/// windows whose maximum (<see cref="PoolWindow.ArgMax"/>, PyTorch's tie rule) it is. No atomics,
/// so the result is deterministic. Where a window's output is not found in it (not this input's
/// forward output) its gradient is dropped; the CPU backend throws there.
/// </summary>
public static class MaxPool2dBackwardKernel
{
    public static void Run(Index1D thread, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx,
        PoolShape g)
    {
        int i = thread;
        var inPlane = g.InHeight * g.InWidth;
        var p = i / inPlane;
        var index = i % inPlane;
        var ih = index / g.InWidth;
        var iw = index % g.InWidth;
        var plane = (long)p * inPlane;
        var outPlane = (long)p * g.OutHeight * g.OutWidth;
        var sum = 0f;
        for (var ki = 0; ki < g.KernelHeight; ki++)
        {
            var oh = PoolWindow.WindowOf(ih, ki, g.StrideHeight, g.PadTop, g.DilationHeight, g.OutHeight);
            if (oh < 0)
            {
                continue;
            }

            for (var kj = 0; kj < g.KernelWidth; kj++)
            {
                var ow = PoolWindow.WindowOf(iw, kj, g.StrideWidth, g.PadLeft, g.DilationWidth, g.OutWidth);
                if (ow < 0)
                {
                    continue;
                }

                var o = outPlane + (oh * g.OutWidth) + ow;
                if (PoolWindow.ArgMax(x, plane, g, oh, ow, y[o]) == index)
                {
                    sum += dy[o];
                }
            }
        }

        dx[i] = sum;
    }
}
