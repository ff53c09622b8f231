using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>y = act(x) elementwise; x and y may be the same view.</summary>
public static class ActivationKernel
{
    public static void Run(Index1D i, ArrayView<float> x, ArrayView<float> y, DeviceActivation activation) =>
        y[i] = activation.Apply(x[i]);
}
