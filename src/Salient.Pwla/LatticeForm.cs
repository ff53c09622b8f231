namespace Salient.Pwla;

/// <summary>
/// The max–min lattice form of a continuous piecewise linear function (spec §2.4 A, Ovchinnikov 2002):
/// g(x) = max_i min_{j ∈ S_i} (w_j x + b_j) over K affine hidden units. Used for evaluation and export.
/// </summary>
public sealed record LatticeForm(double A, double B, IReadOnlyList<double> Weights, IReadOnlyList<double> Biases, IReadOnlyList<IReadOnlyList<int>> Groups)
{
    /// <summary>max over groups of the min over the group's affine units.</summary>
    public double Evaluate(double x)
    {
        var result = double.NegativeInfinity;
        foreach (var group in Groups)
        {
            var min = double.PositiveInfinity;
            foreach (var j in group)
            {
                min = Math.Min(min, (Weights[j] * x) + Biases[j]);
            }

            result = Math.Max(result, min);
        }

        return result;
    }

    /// <summary>
    /// Lines are the segments' lines; S_i = lines at or above line i at both ends of segment i (lines are affine, so the
    /// ends decide). <paramref name="tolerance"/> (relative to the function's scale) absorbs rounding where lines meet at
    /// a knot; a function that jumps by more is refused.
    /// </summary>
    public static LatticeForm From(PiecewiseLinear f, double tolerance = 1e-9)
    {
        ArgumentNullException.ThrowIfNull(f);
        var scale = 1 + Enumerable.Range(0, f.Segments).Max(k => Math.Max(Math.Abs(f.Line(k, f.A)), Math.Abs(f.Line(k, f.B))));
        if (f.MaxJump() > tolerance * scale)
        {
            throw new ArgumentException("a max–min lattice is continuous; this function jumps", nameof(f));
        }

        var groups = new List<IReadOnlyList<int>>();
        for (var i = 0; i < f.Segments; i++)
        {
            var (start, end) = f.Segment(i);
            groups.Add([.. Enumerable.Range(0, f.Segments).Where(j =>
                f.Line(j, start) >= f.Line(i, start) - (tolerance * scale) && f.Line(j, end) >= f.Line(i, end) - (tolerance * scale))]);
        }

        return new LatticeForm(f.A, f.B, f.Slopes, f.Intercepts, groups);
    }

    /// <summary>
    /// Back to knots and lines: the lattice is affine between consecutive pairwise intersections of its units, so it is
    /// sampled there and collinear neighbours are merged.
    /// </summary>
    public PiecewiseLinear ToPiecewiseLinear(double tolerance = 1e-9)
    {
        var points = new List<double> { A, B };
        for (var i = 0; i < Weights.Count; i++)
        {
            for (var j = i + 1; j < Weights.Count; j++)
            {
                if (Weights[i] != Weights[j])
                {
                    var x = (Biases[j] - Biases[i]) / (Weights[i] - Weights[j]);
                    if (x > A && x < B)
                    {
                        points.Add(x);
                    }
                }
            }
        }

        points.Sort();
        var xs = points.Where((x, i) => i == 0 || x > points[i - 1]).ToList();
        var ys = xs.Select(Evaluate).ToList();
        var slopes = new List<double>();
        var intercepts = new List<double>();
        var knots = new List<double>();
        for (var k = 0; k + 1 < xs.Count; k++)
        {
            var slope = (ys[k + 1] - ys[k]) / (xs[k + 1] - xs[k]);
            var intercept = ys[k] - (slope * xs[k]);
            if (slopes.Count > 0 && Math.Abs(slope - slopes[^1]) <= tolerance * (1 + Math.Abs(slope)))
            {
                continue;
            }

            if (slopes.Count > 0)
            {
                knots.Add(xs[k]);
            }

            slopes.Add(slope);
            intercepts.Add(intercept);
        }

        return new PiecewiseLinear(A, B, knots, slopes, intercepts);
    }
}
