namespace Salient.Pwla;

/// <summary>
/// What is approximated on [A, B]: a function (error = integral, by Gauss–Legendre quadrature on cells that are split
/// at the knots, so E is a smooth function of the knots) or samples (error = sum of squared residuals).
/// Internally everything works in the unit coordinate u = (x − A) / (B − A).
/// </summary>
public abstract class PwlaTarget
{
    private protected PwlaTarget(double a, double b)
    {
        if (!(double.IsFinite(a) && double.IsFinite(b) && a < b))
        {
            throw new ArgumentException($"the interval [{a}, {b}] is not a finite interval with a < b");
        }

        A = a;
        B = b;
    }

    /// <summary>Left end of the interval.</summary>
    public double A { get; }

    /// <summary>Right end of the interval.</summary>
    public double B { get; }

    /// <summary>B − A.</summary>
    public double Length => B - A;

    /// <summary>Samples y = f(x) in any order, unit weights; the interval is their range unless given (then samples outside it are dropped).</summary>
    public static PwlaTarget FromSamples(IReadOnlyList<double> x, IReadOnlyList<double> y, double? a = null, double? b = null)
        => new SampleTarget(x, y, a, b);

    /// <summary>
    /// A function on [a, b]. <paramref name="breakPoints"/> are points where f jumps or kinks; quadrature cells are
    /// split there. f must be finite on [a, b].
    /// </summary>
    public static PwlaTarget FromFunction(Func<double, double> f, double a, double b, IEnumerable<double>? breakPoints = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        return new FunctionTarget((x, y) =>
        {
            for (var i = 0; i < x.Length; i++)
            {
                y[i] = f(x[i]);
            }
        }, a, b, breakPoints ?? []);
    }

    /// <summary>A parsed expression on [a, b]; its step and abs arguments' zeros become quadrature break points.</summary>
    public static PwlaTarget FromExpression(MathExpression expression, double a, double b)
    {
        ArgumentNullException.ThrowIfNull(expression);
        return new FunctionTarget(expression.Evaluate, a, b, expression.BreakPoints(a, b));
    }

    /// <summary>The target's value at x (samples: linear interpolation).</summary>
    public abstract double ValueAt(double x);

    /// <summary>Fills the quadrature nodes (u, f, weight in x units) for the sorted unit knots, split at every knot.</summary>
    internal abstract void FillNodes(ReadOnlySpan<double> sortedKnots, Nodes nodes);

    /// <summary>Weight per unit of x near x: 1 for an integral, samples per unit length for samples.</summary>
    internal abstract double DensityAt(double x);

    /// <summary>Points where the plot and DP sample the target.</summary>
    internal abstract (double[] X, double[] Y) Sample(int count);

    internal double ToUnit(double x) => (x - A) / Length;

    internal double FromUnit(double u) => A + (u * Length);
}

/// <summary>Quadrature nodes in unit coordinates; arrays are reused between calls and hold <see cref="Count"/> entries.</summary>
internal sealed class Nodes
{
    public double[] U = [];
    public double[] F = [];
    public double[] W = [];

    /// <summary>Scratch for the nodes' x values, so targets hold no per-call state and can be shared across threads.</summary>
    public double[] X = [];

    public int Count { get; private set; }

    /// <summary>The target whose fixed nodes these are, when they do not depend on the knots.</summary>
    public object? Source { get; set; }

    public void Resize(int count)
    {
        if (U.Length < count)
        {
            var capacity = Math.Max(count, 2 * U.Length);
            U = new double[capacity];
            F = new double[capacity];
            W = new double[capacity];
            X = new double[capacity];
        }

        Count = count;
    }
}

internal sealed class FunctionTarget : PwlaTarget
{
    private const int BaseCells = 16;
    private readonly Action<ReadOnlySpan<double>, Span<double>> _evaluate;
    private readonly double[] _cellEdges;

    public FunctionTarget(Action<ReadOnlySpan<double>, Span<double>> evaluate, double a, double b, IEnumerable<double> breakPoints)
        : base(a, b)
    {
        _evaluate = evaluate;
        var edges = Enumerable.Range(0, BaseCells + 1).Select(i => (double)i / BaseCells)
            .Concat(breakPoints.Select(ToUnit).Where(u => u is > 0 and < 1))
            .Order().ToList();
        _cellEdges = [.. edges.Where((u, i) => i == 0 || u > edges[i - 1])];

        // Fails early, with the place, when the function is undefined somewhere in the interval.
        var (xs, ys) = Sample(4097);
        for (var i = 0; i < ys.Length; i++)
        {
            if (!double.IsFinite(ys[i]))
            {
                throw new ArgumentException($"the function is not finite at x = {xs[i]}");
            }
        }
    }

    public override double ValueAt(double x)
    {
        Span<double> y = stackalloc double[1];
        _evaluate([x], y);
        return y[0];
    }

    internal override double DensityAt(double x) => 1;

    internal override void FillNodes(ReadOnlySpan<double> sortedKnots, Nodes nodes)
    {
        var rule = GaussLegendre.Rule8;
        nodes.Resize((_cellEdges.Length + sortedKnots.Length) * rule.Nodes.Length);
        var count = 0;
        var left = 0.0;
        var k = 0;
        for (var c = 1; c < _cellEdges.Length; c++)
        {
            // Merge the knots (clamped to [0, 1]) into the cell edges so no cell straddles a knot.
            while (k < sortedKnots.Length && sortedKnots[k] < _cellEdges[c])
            {
                var knot = Math.Clamp(sortedKnots[k++], 0, 1);
                count = AddCell(nodes, count, left, Math.Max(left, knot), rule);
                left = Math.Max(left, knot);
            }

            count = AddCell(nodes, count, left, _cellEdges[c], rule);
            left = _cellEdges[c];
        }

        nodes.Resize(count);
        for (var i = 0; i < count; i++)
        {
            nodes.X[i] = FromUnit(nodes.U[i]);
        }

        _evaluate(nodes.X.AsSpan(0, count), nodes.F.AsSpan(0, count));
    }

    internal override (double[] X, double[] Y) Sample(int count)
    {
        var x = new double[count];
        for (var i = 0; i < count; i++)
        {
            x[i] = FromUnit((double)i / (count - 1));
        }

        var y = new double[count];
        _evaluate(x, y);
        return (x, y);
    }

    private int AddCell(Nodes nodes, int count, double left, double right, GaussLegendre rule)
    {
        if (right <= left)
        {
            return count;
        }

        var half = 0.5 * (right - left);
        var mid = 0.5 * (right + left);
        for (var i = 0; i < rule.Nodes.Length; i++)
        {
            nodes.U[count] = mid + (half * rule.Nodes[i]);
            nodes.W[count] = half * rule.Weights[i] * Length;
            count++;
        }

        return count;
    }
}

internal sealed class SampleTarget : PwlaTarget
{
    private readonly double[] _x;
    private readonly double[] _y;
    private readonly double[] _u;

    public SampleTarget(IReadOnlyList<double> x, IReadOnlyList<double> y, double? a, double? b)
        : base(a ?? x.DefaultIfEmpty(0).Min(), b ?? x.DefaultIfEmpty(0).Max())
    {
        if (x.Count != y.Count || x.Count < 2)
        {
            throw new ArgumentException($"samples need at least two (x, y) pairs of equal count; got {x.Count} x and {y.Count} y");
        }

        // Samples outside an explicitly given interval do not count.
        var order = Enumerable.Range(0, x.Count).Where(i => x[i] >= A && x[i] <= B).OrderBy(i => x[i]).ToArray();
        if (order.Length < 2)
        {
            throw new ArgumentException($"fewer than two samples lie in [{A}, {B}]");
        }

        _x = [.. order.Select(i => x[i])];
        _y = [.. order.Select(i => y[i])];
        if (!_x.All(double.IsFinite) || !_y.All(double.IsFinite))
        {
            throw new ArgumentException("the samples contain NaN or infinity");
        }

        _u = [.. _x.Select(ToUnit)];
    }

    public override double ValueAt(double x)
    {
        var i = Array.BinarySearch(_x, x);
        if (i >= 0)
        {
            return _y[i];
        }

        i = ~i;
        if (i == 0 || i == _x.Length)
        {
            return _y[Math.Clamp(i, 0, _x.Length - 1)];
        }

        var s = (x - _x[i - 1]) / (_x[i] - _x[i - 1]);
        return _y[i - 1] + (s * (_y[i] - _y[i - 1]));
    }

    internal override double DensityAt(double x)
    {
        var found = Array.BinarySearch(_x, x);
        var i = Math.Clamp(found < 0 ? ~found : found, 1, _x.Length - 1);
        var spacing = _x[i] - _x[i - 1];
        return spacing > 0 ? 1 / spacing : (_x.Length - 1) / Length;
    }

    internal override void FillNodes(ReadOnlySpan<double> sortedKnots, Nodes nodes)
    {
        // The nodes never move for samples: copy them once per buffer.
        if (ReferenceEquals(nodes.Source, this))
        {
            return;
        }

        nodes.Resize(_u.Length);
        _u.CopyTo(nodes.U, 0);
        _y.CopyTo(nodes.F, 0);
        nodes.W.AsSpan(0, _u.Length).Fill(1);
        nodes.Source = this;
    }

    internal override (double[] X, double[] Y) Sample(int count) => (_x, _y);
}
