namespace Salient.Pwla;

/// <summary>
/// One interior knot's optimality terms (spec §2.3). Residuals are f − line at the knot from the left and right
/// segment; L and R are the hat-weighted residual integrals ∫(g − f)φ over the left and right half of the knot's hat.
/// </summary>
public sealed record KnotCondition(
    double Knot,
    double LeftResidual,
    double RightResidual,
    double Jump,
    double SlopeChange,
    double LeftHatResidual,
    double RightHatResidual,
    double Gradient,
    double Violation);

/// <summary>
/// How far a fit is from the optimality conditions: <see cref="LineViolation"/> is the largest normal-equation residual
/// of the linear part (§2.3.1: per segment ∫(g − f)·{1, x − mid} for PWLA, ∫(g − f)φ_i for CPWLA);
/// <see cref="KnotViolation"/> the largest knot term (§2.3.2: |r_left² − r_right²| for PWLA; §2.3.4: max(|L_i|, |R_i|) at
/// a genuine kink, |L_i + R_i| otherwise, for CPWLA). All in the units of E's integrand times length.
/// </summary>
public sealed record ConditionsReport(bool Continuous, double Error, double LineViolation, double KnotViolation, IReadOnlyList<KnotCondition> Knots)
{
    /// <summary>The larger of the two violations.</summary>
    public double MaxViolation => Math.Max(LineViolation, KnotViolation);

    /// <summary>Both violations at most <paramref name="tolerance"/>.</summary>
    public bool Holds(double tolerance) => MaxViolation <= tolerance;
}

/// <summary>Checks the optimality conditions of spec §2.3 for a fit.</summary>
public static class OptimalityConditions
{
    /// <summary>
    /// PWLA knot condition from one-sided derivatives of E in t: moving right costs (f(t⁺) − ℓ_k)² − (f(t⁺) − ℓ_{k+1})²,
    /// moving left the same with f(t⁻). A minimum needs the right one ≥ 0 and the left one ≤ 0. Where f is continuous this
    /// is |r_left² − r_right²|; where f jumps it lets a knot lock onto the jump (§2.3.3).
    /// </summary>
    private static double SweepViolation(PwlaTarget target, PiecewiseLinear f, int i)
    {
        var t = f.Knots[i];
        var delta = 1e-9 * target.Length;
        double Derivative(double value) => Square(value - f.Line(i, t)) - Square(value - f.Line(i + 1, t));
        var right = Derivative(target.ValueAt(Math.Min(t + delta, target.B)));
        var left = Derivative(target.ValueAt(Math.Max(t - delta, target.A)));
        return Math.Max(0, -right) + Math.Max(0, left);
    }

    private static double Square(double v) => v * v;

    /// <summary>Evaluates the conditions of <paramref name="problem"/>'s variant at <paramref name="f"/>.</summary>
    public static ConditionsReport Check(PwlaProblem problem, PiecewiseLinear f)
    {
        ArgumentNullException.ThrowIfNull(problem);
        ArgumentNullException.ThrowIfNull(f);
        var target = problem.Target;
        var model = new HingeModel(target, f.Segments, continuous: false);
        var (unitKnots, coefficients) = model.FromFunction(f);
        var error = model.Evaluate(unitKnots, coefficients);
        var gradient = new double[unitKnots.Length];
        model.KnotGradient(unitKnots, coefficients, gradient);
        var (u, w, residual) = model.LastResiduals;

        // Each node's x and its residual g − f; nodes are split at the knots, so every node lies inside one segment.
        var xs = u.ToArray().Select(target.FromUnit).ToArray();
        var ws = w.ToArray();
        var rs = residual.ToArray();
        var edges = new[] { f.A }.Concat(f.Knots).Append(f.B).ToArray();
        double Sum(double from, double to, Func<double, double> weight)
        {
            var sum = 0.0;
            for (var s = 0; s < xs.Length; s++)
            {
                if (xs[s] >= from && xs[s] < to || (to == f.B && xs[s] == to))
                {
                    sum += ws[s] * rs[s] * weight(xs[s]);
                }
            }

            return sum;
        }

        double HatLeft(int i) => i == 0 ? 0 : Sum(edges[i - 1], edges[i], x => (x - edges[i - 1]) / (edges[i] - edges[i - 1]));
        double HatRight(int i) => i == edges.Length - 1 ? 0 : Sum(edges[i], edges[i + 1], x => (edges[i + 1] - x) / (edges[i + 1] - edges[i]));

        var lineViolation = 0.0;
        if (problem.Continuous)
        {
            for (var i = 0; i < edges.Length; i++)
            {
                lineViolation = Math.Max(lineViolation, Math.Abs(HatLeft(i) + HatRight(i)));
            }
        }
        else
        {
            for (var k = 0; k < f.Segments; k++)
            {
                var mid = 0.5 * (edges[k] + edges[k + 1]);
                lineViolation = Math.Max(lineViolation, Math.Max(Math.Abs(Sum(edges[k], edges[k + 1], _ => 1)), Math.Abs(Sum(edges[k], edges[k + 1], x => x - mid))));
            }
        }

        var slopeScale = f.Slopes.Max(Math.Abs);
        var knots = new List<KnotCondition>();
        for (var i = 0; i < f.Knots.Count; i++)
        {
            var t = f.Knots[i];
            var value = target.ValueAt(t);
            var left = value - f.Line(i, t);
            var right = value - f.Line(i + 1, t);
            var slopeChange = f.Slopes[i + 1] - f.Slopes[i];
            var hatLeft = HatLeft(i + 1);
            var hatRight = HatRight(i + 1);
            var violation = problem.Continuous
                ? (Math.Abs(slopeChange) > 1e-8 * slopeScale ? Math.Max(Math.Abs(hatLeft), Math.Abs(hatRight)) : Math.Abs(hatLeft + hatRight))
                : SweepViolation(target, f, i) * target.DensityAt(t);
            knots.Add(new KnotCondition(t, left, right, f.Jump(i), slopeChange, hatLeft, hatRight, gradient[i] / target.Length, violation));
        }

        return new ConditionsReport(problem.Continuous, error, lineViolation, knots.Select(k => k.Violation).DefaultIfEmpty(0).Max(), knots);
    }
}
