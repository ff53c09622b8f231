namespace Salient.Pwla;

/// <summary>
/// The hinge network on unit coordinates u ∈ [0, 1] for one target: residuals, error, and gradients with respect to
/// knots and coefficients. Coefficients θ = [c0, c1, d_1..d_m, e_1..e_m] (e only when discontinuous) for
/// g(u) = c0 + c1 u + Σ d_i max(0, u − τ_i) + Σ e_i [u ≥ τ_i]; knots τ may be in any order. Not thread-safe: it
/// reuses its buffers.
/// </summary>
internal sealed class HingeModel
{
    private readonly Nodes _nodes = new();
    private double[] _residual = [];
    private double[] _design = [];
    private double[] _rhs = [];
    private double[] _sorted = [];

    public HingeModel(PwlaTarget target, int segments, bool continuous)
    {
        if (segments < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(segments), "at least one segment is needed");
        }

        Target = target;
        KnotCount = segments - 1;
        Continuous = continuous;
    }

    public PwlaTarget Target { get; }

    public int KnotCount { get; }

    public bool Continuous { get; }

    public int CoefficientCount => 2 + (Continuous ? KnotCount : 2 * KnotCount);

    /// <summary>Error evaluations so far (each fills nodes and residuals once).</summary>
    public long Evaluations { get; private set; }

    /// <summary>Nodes (unit positions and weights) and residuals g − f of the last evaluation.</summary>
    public (ReadOnlyMemory<double> U, ReadOnlyMemory<double> W, ReadOnlyMemory<double> Residual) LastResiduals
        => (_nodes.U.AsMemory(0, _nodes.Count), _nodes.W.AsMemory(0, _nodes.Count), _residual.AsMemory(0, _nodes.Count));

    /// <summary>Best coefficients for the knots (the convex inner problem); returns E and keeps the residuals.</summary>
    public double Solve(ReadOnlySpan<double> knots, Span<double> coefficients)
    {
        PrepareNodes(knots);
        var n = _nodes.Count;
        var p = CoefficientCount;
        if (_design.Length < n * p)
        {
            _design = new double[n * p];
        }

        if (_rhs.Length < n)
        {
            _rhs = new double[_nodes.U.Length];
        }

        for (var s = 0; s < n; s++)
        {
            var root = Math.Sqrt(_nodes.W[s]);
            var u = _nodes.U[s];
            _design[s] = root;
            _design[n + s] = root * u;
            for (var i = 0; i < KnotCount; i++)
            {
                _design[((2 + i) * n) + s] = u >= knots[i] ? root * (u - knots[i]) : 0;
                if (!Continuous)
                {
                    _design[((2 + KnotCount + i) * n) + s] = u >= knots[i] ? root : 0;
                }
            }

            _rhs[s] = root * _nodes.F[s];
        }

        LeastSquares.Solve(_design.AsSpan(0, n * p), n, p, _rhs.AsSpan(0, n), coefficients);
        return Residuals(knots, coefficients);
    }

    /// <summary>E for given knots and coefficients; keeps the residuals for the gradients.</summary>
    public double Evaluate(ReadOnlySpan<double> knots, ReadOnlySpan<double> coefficients)
    {
        PrepareNodes(knots);
        return Residuals(knots, coefficients);
    }

    /// <summary>∂E/∂τ at the last evaluated point, coefficients held fixed (equal to the projected gradient after <see cref="Solve"/>).</summary>
    public void KnotGradient(ReadOnlySpan<double> knots, ReadOnlySpan<double> coefficients, Span<double> gradient)
    {
        for (var i = 0; i < KnotCount; i++)
        {
            var sum = 0.0;
            for (var s = 0; s < _nodes.Count; s++)
            {
                if (_nodes.U[s] >= knots[i])
                {
                    sum += _nodes.W[s] * _residual[s];
                }
            }

            gradient[i] = -2 * coefficients[2 + i] * sum;
            if (!Continuous)
            {
                // Moving a jump sweeps the right line's residual into the left one's (spec §2.3.2).
                var x = Target.FromUnit(knots[i]);
                var left = LeftLimit(knots, coefficients, i) - Target.ValueAt(x);
                var right = left + coefficients[2 + KnotCount + i];
                gradient[i] += Target.Length * Target.DensityAt(x) * ((left * left) - (right * right));
            }
        }
    }

    /// <summary>∂E/∂θ at the last evaluated point.</summary>
    public void CoefficientGradient(ReadOnlySpan<double> knots, Span<double> gradient)
    {
        gradient.Clear();
        for (var s = 0; s < _nodes.Count; s++)
        {
            var u = _nodes.U[s];
            var g = 2 * _nodes.W[s] * _residual[s];
            gradient[0] += g;
            gradient[1] += g * u;
            for (var i = 0; i < KnotCount; i++)
            {
                if (u >= knots[i])
                {
                    gradient[2 + i] += g * (u - knots[i]);
                    if (!Continuous)
                    {
                        gradient[2 + KnotCount + i] += g;
                    }
                }
            }
        }
    }

    /// <summary>Residual energy Σ w r² of the last evaluation between two unit positions.</summary>
    public double ResidualEnergy(double from, double to, out double median)
    {
        var total = 0.0;
        for (var s = 0; s < _nodes.Count; s++)
        {
            if (_nodes.U[s] >= from && _nodes.U[s] < to)
            {
                total += _nodes.W[s] * _residual[s] * _residual[s];
            }
        }

        median = 0.5 * (from + to);
        var running = 0.0;
        for (var s = 0; s < _nodes.Count && total > 0; s++)
        {
            if (_nodes.U[s] >= from && _nodes.U[s] < to)
            {
                running += _nodes.W[s] * _residual[s] * _residual[s];
                if (running >= 0.5 * total)
                {
                    median = _nodes.U[s];
                    break;
                }
            }
        }

        return total;
    }

    /// <summary>The network as knots and lines in x.</summary>
    public PiecewiseLinear ToFunction(ReadOnlySpan<double> knots, ReadOnlySpan<double> coefficients)
    {
        var length = Target.Length;
        var m = KnotCount;
        var c = coefficients.ToArray();
        var hinge = new HingeForm(
            Target.A,
            Target.B,
            c[0],
            c[1] / length,
            [.. knots.ToArray().Select(Target.FromUnit)],
            [.. c.Skip(2).Take(m).Select(d => d / length)],
            Continuous ? new double[m] : c[(2 + m)..]);
        return hinge.ToPiecewiseLinear();
    }

    /// <summary>Unit knots and coefficients of a piecewise linear function with this model's segment count.</summary>
    public (double[] Knots, double[] Coefficients) FromFunction(PiecewiseLinear f)
    {
        var hinge = HingeForm.From(f);
        var knots = hinge.Knots.Select(Target.ToUnit).ToArray();
        var coefficients = new double[CoefficientCount];
        coefficients[0] = hinge.C0;
        coefficients[1] = hinge.C1 * Target.Length;
        for (var i = 0; i < KnotCount; i++)
        {
            coefficients[2 + i] = hinge.Kinks[i] * Target.Length;
            if (!Continuous)
            {
                coefficients[2 + KnotCount + i] = hinge.Jumps[i];
            }
        }

        return (knots, coefficients);
    }

    private double LeftLimit(ReadOnlySpan<double> knots, ReadOnlySpan<double> coefficients, int knot)
    {
        var u = knots[knot];
        var g = coefficients[0] + (coefficients[1] * u);
        for (var j = 0; j < KnotCount; j++)
        {
            if (u > knots[j])
            {
                g += (coefficients[2 + j] * (u - knots[j])) + coefficients[2 + KnotCount + j];
            }
        }

        return g;
    }

    private void PrepareNodes(ReadOnlySpan<double> knots)
    {
        if (_sorted.Length != knots.Length)
        {
            _sorted = new double[knots.Length];
        }

        knots.CopyTo(_sorted);
        Array.Sort(_sorted);
        Target.FillNodes(_sorted, _nodes);
        if (_residual.Length < _nodes.Count)
        {
            _residual = new double[_nodes.U.Length];
        }

        Evaluations++;
    }

    private double Residuals(ReadOnlySpan<double> knots, ReadOnlySpan<double> coefficients)
    {
        var error = 0.0;
        for (var s = 0; s < _nodes.Count; s++)
        {
            var u = _nodes.U[s];
            var g = coefficients[0] + (coefficients[1] * u);
            for (var i = 0; i < KnotCount; i++)
            {
                if (u >= knots[i])
                {
                    g += coefficients[2 + i] * (u - knots[i]);
                    if (!Continuous)
                    {
                        g += coefficients[2 + KnotCount + i];
                    }
                }
            }

            _residual[s] = g - _nodes.F[s];
            error += _nodes.W[s] * _residual[s] * _residual[s];
        }

        return error;
    }
}
