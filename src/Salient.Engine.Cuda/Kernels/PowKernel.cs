using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// y = x^b with b per value, or one b for all (<c>scalar</c>), where 2, 1 and 0.5 are x·x, x and √x as on
/// the CPU: one thread per value.
/// </summary>
public static class PowKernel
{
    public static void Run(Index1D i, ArrayView<float> x, ArrayView<float> exponent, ArrayView<float> y, int scalar)
    {
        var v = x[i];
        var b = exponent[scalar != 0 ? 0 : i.X];
        y[i] = scalar == 0 ? MathF.Pow(v, b)
            : b == 2f ? v * v
            : b == 1f ? v
            : b == 0.5f ? MathF.Sqrt(v)
            : MathF.Pow(v, b);
    }
}
