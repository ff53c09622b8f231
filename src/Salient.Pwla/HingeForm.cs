namespace Salient.Pwla;

/// <summary>
/// The trainable LNN parametrisation (spec §2.4 B): one hidden layer of ReLU units with unit input weight and bias −t_i,
/// a linear skip, and for discontinuous fits one step unit per knot:
/// g(x) = c0 + c1 (x − a) + Σ d_i max(0, x − t_i) + Σ e_i [x ≥ t_i].
/// </summary>
public sealed record HingeForm(double A, double B, double C0, double C1, IReadOnlyList<double> Knots, IReadOnlyList<double> Kinks, IReadOnlyList<double> Jumps)
{
    /// <summary>The network's output at x.</summary>
    public double Evaluate(double x)
    {
        var g = C0 + (C1 * (x - A));
        for (var i = 0; i < Knots.Count; i++)
        {
            if (x >= Knots[i])
            {
                g += (Kinks[i] * (x - Knots[i])) + Jumps[i];
            }
        }

        return g;
    }

    /// <summary>The hinge network that equals <paramref name="f"/>: kinks are slope changes, jumps are value changes.</summary>
    public static HingeForm From(PiecewiseLinear f)
    {
        ArgumentNullException.ThrowIfNull(f);
        var n = f.Knots.Count;
        return new HingeForm(
            f.A,
            f.B,
            f.Line(0, f.A),
            f.Slopes[0],
            f.Knots,
            [.. Enumerable.Range(0, n).Select(i => f.Slopes[i + 1] - f.Slopes[i])],
            [.. Enumerable.Range(0, n).Select(f.Jump)]);
    }

    /// <summary>The same function as knots and lines (knots are sorted; coincident knots add up).</summary>
    public PiecewiseLinear ToPiecewiseLinear()
    {
        var order = Enumerable.Range(0, Knots.Count).OrderBy(i => Knots[i]).ToArray();
        var knots = order.Select(i => Math.Clamp(Knots[i], A, B)).ToArray();
        var slopes = new double[knots.Length + 1];
        var intercepts = new double[knots.Length + 1];
        slopes[0] = C1;
        intercepts[0] = C0 - (C1 * A);
        for (var k = 0; k < knots.Length; k++)
        {
            var i = order[k];
            // Line k+1 = line k + d (x − t) + e.
            slopes[k + 1] = slopes[k] + Kinks[i];
            intercepts[k + 1] = intercepts[k] - (Kinks[i] * Knots[i]) + Jumps[i];
        }

        return new PiecewiseLinear(A, B, knots, slopes, intercepts);
    }
}
