namespace Salient.Pwla;

/// <summary>
/// Local searches over unit knots on the projected error E(τ) = min_θ E(τ, θ) (variable projection): Nelder–Mead
/// (derivative-free, for the reference optimum) and BFGS with the analytic knot gradient (final polish).
/// Knots are clamped to [0, 1]; their order does not matter to the hinge network.
/// </summary>
internal static class KnotSearch
{
    /// <summary>Projected error at clamped knots; fills the coefficients and, when given, the knot gradient.</summary>
    public static double ProjectedError(HingeModel model, double[] knots, double[] coefficients, double[]? gradient = null)
    {
        for (var i = 0; i < knots.Length; i++)
        {
            knots[i] = Math.Clamp(knots[i], 0, 1);
        }

        var error = model.Solve(knots, coefficients);
        if (gradient is not null)
        {
            model.KnotGradient(knots, coefficients, gradient);
        }

        return error;
    }

    /// <summary>Nelder–Mead (standard coefficients) from <paramref name="start"/>; returns the best vertex and its value.</summary>
    public static (double[] X, double Value) NelderMead(Func<double[], double> f, double[] start, double step, int maxEvaluations, double relativeTolerance)
    {
        var n = start.Length;
        if (n == 0)
        {
            return (start, f(start));
        }

        var simplex = new double[n + 1][];
        var values = new double[n + 1];
        for (var v = 0; v <= n; v++)
        {
            simplex[v] = (double[])start.Clone();
            if (v > 0)
            {
                simplex[v][v - 1] += simplex[v][v - 1] + step <= 1 ? step : -step;
            }

            values[v] = f(simplex[v]);
        }

        var evaluations = n + 1;
        var centroid = new double[n];
        while (evaluations < maxEvaluations)
        {
            var order = Enumerable.Range(0, n + 1).OrderBy(v => values[v]).ToArray();
            simplex = [.. order.Select(v => simplex[v])];
            values = [.. order.Select(v => values[v])];
            var spread = values[n] - values[0];
            var size = simplex.Skip(1).Max(p => p.Zip(simplex[0], (a, b) => Math.Abs(a - b)).Max());
            // Converged when the values agree and the simplex has shrunk, or when it has collapsed regardless.
            if ((spread <= (relativeTolerance * Math.Abs(values[0])) + 1e-300 && size < 1e-12) || size < 1e-13)
            {
                break;
            }

            Array.Clear(centroid);
            for (var v = 0; v < n; v++)
            {
                for (var i = 0; i < n; i++)
                {
                    centroid[i] += simplex[v][i] / n;
                }
            }

            double[] Along(double t) => [.. centroid.Select((c, i) => c + (t * (simplex[n][i] - c)))];
            var reflected = Along(-1);
            var reflectedValue = f(reflected);
            evaluations++;
            if (reflectedValue < values[0])
            {
                var expanded = Along(-2);
                var expandedValue = f(expanded);
                evaluations++;
                (simplex[n], values[n]) = expandedValue < reflectedValue ? (expanded, expandedValue) : (reflected, reflectedValue);
                continue;
            }

            if (reflectedValue < values[n - 1])
            {
                (simplex[n], values[n]) = (reflected, reflectedValue);
                continue;
            }

            var contracted = Along(reflectedValue < values[n] ? -0.5 : 0.5);
            var contractedValue = f(contracted);
            evaluations++;
            if (contractedValue < Math.Min(reflectedValue, values[n]))
            {
                (simplex[n], values[n]) = (contracted, contractedValue);
                continue;
            }

            for (var v = 1; v <= n; v++)
            {
                simplex[v] = [.. simplex[v].Select((x, i) => simplex[0][i] + (0.5 * (x - simplex[0][i])))];
                values[v] = f(simplex[v]);
                evaluations++;
            }
        }

        var best = Array.IndexOf(values, values.Min());
        return (simplex[best], values[best]);
    }

    /// <summary>BFGS with Armijo backtracking on the projected error; returns the polished knots and E.</summary>
    public static (double[] Knots, double Error) Polish(HingeModel model, double[] start, int maxIterations = 200)
    {
        var n = start.Length;
        var x = (double[])start.Clone();
        var coefficients = new double[model.CoefficientCount];
        var gradient = new double[n];
        var value = ProjectedError(model, x, coefficients, gradient);
        if (n == 0)
        {
            return (x, value);
        }

        // Inverse Hessian estimate, first scaled so the first step moves knots by at most 1% of the interval.
        var h = new double[n, n];
        var gradientNorm = Math.Sqrt(gradient.Sum(g => g * g));
        var initialScale = gradientNorm > 0 ? 0.01 / gradientNorm : 1;
        for (var i = 0; i < n; i++)
        {
            h[i, i] = initialScale;
        }

        var trial = new double[n];
        var trialGradient = new double[n];
        var direction = new double[n];
        // Stops after three steps in a row without progress; steepest-descent restarts do not count as iterations.
        var flat = 0;
        var iteration = 0;
        while (iteration < maxIterations && flat < 3)
        {
            var slope = 0.0;
            for (var i = 0; i < n; i++)
            {
                direction[i] = 0;
                for (var j = 0; j < n; j++)
                {
                    direction[i] -= h[i, j] * gradient[j];
                }

                slope += direction[i] * gradient[i];
            }

            if (slope >= 0)
            {
                // Not a descent direction (curvature lost): restart from steepest descent.
                ResetToScaledIdentity(h, initialScale);
                flat++;
                continue;
            }

            iteration++;
            var alpha = 1.0;
            var trialValue = double.PositiveInfinity;
            for (var halvings = 0; halvings < 50; halvings++, alpha *= 0.5)
            {
                for (var i = 0; i < n; i++)
                {
                    trial[i] = x[i] + (alpha * direction[i]);
                }

                trialValue = ProjectedError(model, trial, coefficients, trialGradient);
                if (trialValue <= value + (1e-4 * alpha * slope))
                {
                    break;
                }
            }

            if (!(trialValue < value))
            {
                ResetToScaledIdentity(h, initialScale);
                flat++;
                continue;
            }

            flat = value - trialValue <= 1e-15 * value ? flat + 1 : 0;
            var s = new double[n];
            var y = new double[n];
            var sy = 0.0;
            for (var i = 0; i < n; i++)
            {
                s[i] = trial[i] - x[i];
                y[i] = trialGradient[i] - gradient[i];
                sy += s[i] * y[i];
            }

            Array.Copy(trial, x, n);
            Array.Copy(trialGradient, gradient, n);
            value = trialValue;
            if (sy > 1e-300)
            {
                UpdateInverseHessian(h, s, y, sy);
            }
        }

        value = ProjectedError(model, x, coefficients);
        return (x, value);
    }

    private static void ResetToScaledIdentity(double[,] h, double scale)
    {
        var n = h.GetLength(0);
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                h[i, j] = i == j ? scale : 0;
            }
        }
    }

    private static void UpdateInverseHessian(double[,] h, double[] s, double[] y, double sy)
    {
        // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ, ρ = 1 / sᵀy.
        var n = s.Length;
        var hy = new double[n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                hy[i] += h[i, j] * y[j];
            }
        }

        var yhy = y.Select((v, i) => v * hy[i]).Sum();
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                h[i, j] += (((sy + yhy) * s[i] * s[j]) / (sy * sy)) - (((hy[i] * s[j]) + (s[i] * hy[j])) / sy);
            }
        }
    }
}
