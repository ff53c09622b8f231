namespace Salient.Pwla;

/// <summary>
/// A piecewise linear function on [A, B]: sorted interior knots t_1..t_{n−1} and one line m_k x + c_k per segment
/// [t_{k−1}, t_k] (t_0 = A, t_n = B). A knot belongs to the segment on its right.
/// </summary>
public sealed class PiecewiseLinear
{
    /// <summary>Creates the function; knots must be sorted and inside [a, b], one more line than knots.</summary>
    public PiecewiseLinear(double a, double b, IReadOnlyList<double> knots, IReadOnlyList<double> slopes, IReadOnlyList<double> intercepts)
    {
        ArgumentNullException.ThrowIfNull(knots);
        ArgumentNullException.ThrowIfNull(slopes);
        ArgumentNullException.ThrowIfNull(intercepts);
        if (slopes.Count != knots.Count + 1 || intercepts.Count != slopes.Count)
        {
            throw new ArgumentException($"{knots.Count} knots need {knots.Count + 1} slopes and intercepts");
        }

        for (var i = 0; i < knots.Count; i++)
        {
            if (knots[i] < (i == 0 ? a : knots[i - 1]) || knots[i] > b)
            {
                throw new ArgumentException("knots must be sorted and inside the interval");
            }
        }

        A = a;
        B = b;
        Knots = [.. knots];
        Slopes = [.. slopes];
        Intercepts = [.. intercepts];
    }

    /// <summary>Left end.</summary>
    public double A { get; }

    /// <summary>Right end.</summary>
    public double B { get; }

    /// <summary>Interior breakpoints, sorted.</summary>
    public IReadOnlyList<double> Knots { get; }

    /// <summary>Slope of each segment.</summary>
    public IReadOnlyList<double> Slopes { get; }

    /// <summary>Intercept (value at x = 0) of each segment's line.</summary>
    public IReadOnlyList<double> Intercepts { get; }

    /// <summary>Number of segments.</summary>
    public int Segments => Slopes.Count;

    /// <summary>Segment k's start and end.</summary>
    public (double Start, double End) Segment(int k) => (k == 0 ? A : Knots[k - 1], k == Knots.Count ? B : Knots[k]);

    /// <summary>The segment that holds x (knots belong to the segment on their right).</summary>
    public int SegmentOf(double x)
    {
        var lo = 0;
        var hi = Knots.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (x >= Knots[mid])
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    /// <summary>The value at x.</summary>
    public double Evaluate(double x)
    {
        var k = SegmentOf(x);
        return (Slopes[k] * x) + Intercepts[k];
    }

    /// <summary>Segment k's line at x (also outside the segment).</summary>
    public double Line(int k, double x) => (Slopes[k] * x) + Intercepts[k];

    /// <summary>Right limit minus left limit at interior knot i.</summary>
    public double Jump(int i) => Line(i + 1, Knots[i]) - Line(i, Knots[i]);

    /// <summary>The largest absolute jump at a knot: 0 for a continuous function.</summary>
    public double MaxJump() => Enumerable.Range(0, Knots.Count).Select(i => Math.Abs(Jump(i))).DefaultIfEmpty(0).Max();
}
