namespace Salient.Training.Csg.Internal;

/// <summary>
/// The digamma function ψ(x) = d/dx ln Γ(x) for x &gt; 0, in double precision. For integer arguments
/// (the only ones the kNN estimator uses) it follows the same steps as Cephes' <c>psi</c>, which SciPy's
/// <c>digamma</c> wraps: the harmonic sum for n ≤ 10 and the asymptotic series otherwise, so both give
/// the same double.
/// </summary>
public static class Digamma
{
    private const double EulerGamma = 0.57721566490153286061;

    // Bernoulli terms B₂ₖ/(2k) of the asymptotic series in powers of 1/x², highest power first:
    // ψ(x) ≈ ln x − 1/(2x) − Σ B₂ₖ/(2k x²ᵏ).
    private static ReadOnlySpan<double> AsymptoticCoefficients =>
    [
        8.33333333333333333333E-2,
        -2.10927960927960927961E-2,
        7.57575757575757575758E-3,
        -4.16666666666666666667E-3,
        3.96825396825396825397E-3,
        -8.33333333333333333333E-3,
        8.33333333333333333333E-2,
    ];

    public static double Of(double x)
    {
        if (!(x > 0))
        {
            return double.NaN;
        }

        if (x <= 10 && x == Math.Floor(x))
        {
            var harmonic = 0.0;
            for (var i = 1; i < (int)x; i++)
            {
                harmonic += 1.0 / i;
            }

            return harmonic - EulerGamma;
        }

        // Recurrence ψ(x) = ψ(x + 1) − 1/x until the series is accurate (x ≥ 10).
        var shift = 0.0;
        while (x < 10)
        {
            shift -= 1.0 / x;
            x += 1;
        }

        return shift + Asymptotic(x);
    }

    private static double Asymptotic(double x)
    {
        // Beyond 1e17 the series is below the rounding of ln x (and 1/x² would lose it anyway).
        var series = 0.0;
        if (x < 1e17)
        {
            var z = 1.0 / (x * x);
            var polynomial = AsymptoticCoefficients[0];
            for (var i = 1; i < AsymptoticCoefficients.Length; i++)
            {
                polynomial = (polynomial * z) + AsymptoticCoefficients[i];
            }

            series = z * polynomial;
        }

        return Math.Log(x) - (0.5 / x) - series;
    }
}
