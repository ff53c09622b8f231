using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// Max pooling's Jacobian-vector product, one thread per output: the input tangent at the window's
/// maximum (<see cref="PoolWindow.ArgMax"/>, the element <see cref="MaxPool2dBackwardKernel"/> routes the
/// gradient to); zero where the output is not found in its window (the CPU backend throws there).
/// </summary>
public static class MaxPool2dTangentKernel
{
    public static void Run(Index1D thread, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dx, ArrayView<float> dy, PoolShape g)
    {
        int i = thread;
        var outPlane = g.OutHeight * g.OutWidth;
        var plane = (long)(i / outPlane) * g.InHeight * g.InWidth;
        var o = i % outPlane;
        var best = PoolWindow.ArgMax(x, plane, g, o / g.OutWidth, o % g.OutWidth, y[i]);
        dy[i] = best >= 0 ? dx[plane + best] : 0f;
    }
}
