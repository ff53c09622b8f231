using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>y = f(x) for a <see cref="MapFunctionKind"/> (as an int) with parameter p; x and y may be the same view.</summary>
public static class MapKernel
{
    public static void Run(Index1D i, ArrayView<float> x, ArrayView<float> y, int kind, float p)
    {
        var v = x[i];
        y[i] = kind switch
        {
            (int)MapFunctionKind.Relu => DeviceActivation.Max(v, 0f),
            (int)MapFunctionKind.Abs => v < 0f ? -v : v,
            (int)MapFunctionKind.Scale => v * p,
            (int)MapFunctionKind.Square => v * v,
            _ => MathF.Tanh(v * p),
        };
    }
}
