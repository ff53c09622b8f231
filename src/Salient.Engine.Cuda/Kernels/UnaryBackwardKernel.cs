using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// dx = f′·dy for a <see cref="UnaryFunction"/> (as an int), from the forward input x or output y as each
/// derivative needs (the other may be an empty stand-in). One thread per value.
/// </summary>
public static class UnaryBackwardKernel
{
    private const float InverseSqrt2 = 0.70710678f;

    // 2/√π and 1/√(2π).
    private const float ErfSlope = 1.12837917f;
    private const float InverseSqrt2Pi = 0.39894228f;

    public static void Run(Index1D i, ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int function)
    {
        var g = dy[i];
        dx[i] = function switch
        {
            (int)UnaryFunction.Erf => MathF.Exp(-(x[i] * x[i])) * ErfSlope * g,
            (int)UnaryFunction.Sqrt => g / y[i] * 0.5f,
            (int)UnaryFunction.Reciprocal => -(y[i] * y[i] * g),
            (int)UnaryFunction.Neg => -g,
            (int)UnaryFunction.Exp => g * y[i],
            (int)UnaryFunction.Log => g / x[i],
            (int)UnaryFunction.Tanh => (1f - (y[i] * y[i])) * g,
            (int)UnaryFunction.Abs => x[i] > 0f ? g : x[i] < 0f ? -g : 0f,
            _ => Gelu(x[i]) * g,
        };
    }

    // dGELU/dx = 0.5·(1 + erf(x/√2)) + x·exp(−x²/2)/√(2π).
    private static float Gelu(float x) => (0.5f * (1f + DeviceErf.Erf(x * InverseSqrt2))) + (x * MathF.Exp(-0.5f * x * x) * InverseSqrt2Pi);
}
