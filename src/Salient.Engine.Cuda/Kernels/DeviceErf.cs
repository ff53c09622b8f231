namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// The error function on the device, the CPU backend's fit: erf(x) = 1 − erfc(x) with the Chebyshev
/// approximation of Numerical Recipes for erfc (fractional error below 1.2e-7). Kernels cannot read
/// managed arrays, so the coefficients are written out here, highest power first.
/// </summary>
public static class DeviceErf
{
    public static float Erf(float x)
    {
        var z = x < 0f ? -x : x;
        var t = 1f / (1f + (0.5f * z));
        var p = 0.17087277f;
        p = (p * t) - 0.82215223f;
        p = (p * t) + 1.48851587f;
        p = (p * t) - 1.13520398f;
        p = (p * t) + 0.27886807f;
        p = (p * t) - 0.18628806f;
        p = (p * t) + 0.09678418f;
        p = (p * t) + 0.37409196f;
        p = (p * t) + 1.00002368f;
        p = (p * t) - 1.26551223f;
        var erfc = t * MathF.Exp((-z * z) + p);
        return x >= 0f ? 1f - erfc : erfc - 1f;
    }
}
