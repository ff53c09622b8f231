namespace Salient.Methods.Attribution;

/// <summary>The small dense solve of the regression methods (Kernel SHAP, LIME).</summary>
internal static class LinearSolve
{
    /// <summary>Solves the symmetric positive definite system a·x = b by Cholesky (a is overwritten).</summary>
    public static double[] Cholesky(double[,] a, double[] b)
    {
        var n = b.Length;
        for (var j = 0; j < n; j++)
        {
            var d = a[j, j];
            for (var k = 0; k < j; k++)
            {
                d -= a[j, k] * a[j, k];
            }

            a[j, j] = Math.Sqrt(Math.Max(d, 1e-300));
            for (var i = j + 1; i < n; i++)
            {
                var s = a[i, j];
                for (var k = 0; k < j; k++)
                {
                    s -= a[i, k] * a[j, k];
                }

                a[i, j] = s / a[j, j];
            }
        }

        var x = (double[])b.Clone();
        for (var i = 0; i < n; i++)
        {
            for (var k = 0; k < i; k++)
            {
                x[i] -= a[i, k] * x[k];
            }

            x[i] /= a[i, i];
        }

        for (var i = n - 1; i >= 0; i--)
        {
            for (var k = i + 1; k < n; k++)
            {
                x[i] -= a[k, i] * x[k];
            }

            x[i] /= a[i, i];
        }

        return x;
    }
}
