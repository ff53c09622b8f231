using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>dx = dy[plane] / planeSize: one thread per input value.</summary>
public static class GlobalAvgPoolBackwardKernel
{
    public static void Run(Index1D i, ArrayView<float> dy, ArrayView<float> dx, int planeSize) =>
        dx[i] = dy[i / planeSize] / planeSize;
}
