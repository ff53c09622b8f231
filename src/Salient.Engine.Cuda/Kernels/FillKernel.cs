using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>y = value everywhere.</summary>
public static class FillKernel
{
    public static void Run(Index1D i, ArrayView<float> y, float value) => y[i] = value;
}
