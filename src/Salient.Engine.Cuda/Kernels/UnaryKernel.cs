using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>y = f(x) for a <see cref="UnaryFunction"/> (as an int); x and y may be the same view. One thread per value.</summary>
public static class UnaryKernel
{
    private const float InverseSqrt2 = 0.70710678f;

    public static void Run(Index1D i, ArrayView<float> x, ArrayView<float> y, int function)
    {
        var v = x[i];
        y[i] = function switch
        {
            (int)UnaryFunction.Erf => DeviceErf.Erf(v),
            (int)UnaryFunction.Sqrt => MathF.Sqrt(v),
            (int)UnaryFunction.Reciprocal => 1f / v,
            (int)UnaryFunction.Neg => -v,
            (int)UnaryFunction.Exp => MathF.Exp(v),
            (int)UnaryFunction.Log => MathF.Log(v),
            (int)UnaryFunction.Tanh => MathF.Tanh(v),
            (int)UnaryFunction.Abs => v < 0f ? -v : v,
            _ => 0.5f * ((v * DeviceErf.Erf(v * InverseSqrt2)) + v),
        };
    }
}
