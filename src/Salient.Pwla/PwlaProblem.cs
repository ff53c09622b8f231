namespace Salient.Pwla;

/// <summary>
/// n-segment least-squares piecewise linear approximation of a target: PWLA_n (discontinuous allowed) or CPWLA_n
/// (<paramref name="Continuous"/>).
/// </summary>
public sealed record PwlaProblem(PwlaTarget Target, int Segments, bool Continuous)
{
    /// <summary>Least-squares error of <paramref name="f"/>: the integral of (f − g)² (or the sum over samples).</summary>
    public double Error(PiecewiseLinear f)
    {
        ArgumentNullException.ThrowIfNull(f);
        // The discontinuous network represents any piecewise linear function exactly.
        var model = new HingeModel(Target, f.Segments, continuous: false);
        var (knots, coefficients) = model.FromFunction(f);
        return model.Evaluate(knots, coefficients);
    }

    /// <summary>The best fit with the given interior knots (the inner problem is convex: spec §2.3.1).</summary>
    public PwlaFit FitKnots(IReadOnlyList<double> knots, string method = "fixed-knots")
    {
        ArgumentNullException.ThrowIfNull(knots);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var model = new HingeModel(Target, knots.Count + 1, Continuous);
        var unit = knots.Select(Target.ToUnit).ToArray();
        var coefficients = new double[model.CoefficientCount];
        var error = model.Solve(unit, coefficients);
        return new PwlaFit(method, model.ToFunction(unit, coefficients), error, clock.Elapsed, model.Evaluations);
    }
}

/// <summary>A solver's answer: the function, its error E, wall time and how many error evaluations it took.</summary>
public sealed record PwlaFit(string Method, PiecewiseLinear Function, double Error, TimeSpan Elapsed, long Evaluations);
