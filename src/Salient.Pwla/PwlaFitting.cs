using System.Globalization;
using System.Text;
using System.Text.Json;
using Salient.Imaging;
using Salient.Pwla.Plot;

namespace Salient.Pwla;

/// <summary>
/// One PWLA fit as <c>salient pwla fit</c> and the cluster's <c>pwla</c> jobs run it: parse the target, solve with the
/// chosen method, and report (JSON document, summary text, PNG plot). Shared so both write the same outputs.
/// </summary>
public static class PwlaFitting
{
    /// <summary>The solvers by name.</summary>
    public static IReadOnlyList<string> Methods { get; } = ["lnn", "dp", "de"];

    /// <summary>The problem with the method's constraints, or why the combination is invalid (null when valid).</summary>
    public static string? MethodProblem(string method, bool continuous) =>
        !Methods.Contains(method) ? $"method '{method}' is not {string.Join(", ", Methods)}"
        : method == "dp" && continuous ? "method dp solves the discontinuous problem only; drop continuous or use lnn or de"
        : null;

    // The source is how the reports name the target, e.g. "f(x) = sin(6*x)".

    /// <summary>Fits <paramref name="segments"/> segments to <paramref name="target"/> with <paramref name="method"/> and checks optimality.</summary>
    public static PwlaResult Fit(string source, PwlaTarget target, int segments, bool continuous, string method, int seed)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (MethodProblem(method, continuous) is { } problemText)
        {
            throw new ArgumentException(problemText, nameof(method));
        }

        var problem = new PwlaProblem(target, segments, continuous);
        var fit = method switch
        {
            "dp" => SegmentedLeastSquares.Fit(problem),
            "de" => DifferentialEvolution.Fit(problem, new DifferentialEvolutionOptions { Seed = seed }),
            _ => LnnSolver.Fit(problem, new LnnOptions { Seed = seed }),
        };
        return new PwlaResult(source, problem, fit, OptimalityConditions.Check(problem, fit.Function));
    }

    /// <summary>Parses <c>a,b</c>; the bounds are expressions too, so <c>0,2*pi</c> works.</summary>
    public static (double A, double B) ParseInterval(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(',');
        if (parts.Length != 2)
        {
            throw new ArgumentException($"interval '{text}' must be two numbers a,b");
        }

        var a = MathExpression.Parse(parts[0]).Evaluate(0);
        var b = MathExpression.Parse(parts[1]).Evaluate(0);
        if (!(double.IsFinite(a) && double.IsFinite(b) && a < b))
        {
            throw new ArgumentException($"interval '{text}' must have finite a < b");
        }

        return (a, b);
    }

    /// <summary>Reads <c>x,y</c> rows; blank lines, <c>#</c> comments and one header line are skipped.</summary>
    /// <param name="lines">The CSV's lines.</param>
    /// <param name="name">The file's name in error messages.</param>
    /// <exception cref="FormatException">A row is not two numbers.</exception>
    public static (List<double> X, List<double> Y) ReadSamples(IEnumerable<string> lines, string name)
    {
        ArgumentNullException.ThrowIfNull(lines);
        var x = new List<double>();
        var y = new List<double>();
        var lineNumber = 0;
        foreach (var raw in lines)
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var parts = line.Split(',', StringSplitOptions.TrimEntries);
            if (parts.Length < 2
                || !double.TryParse(parts[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var xv)
                || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var yv))
            {
                if (x.Count == 0 && lineNumber == 1)
                {
                    continue;
                }

                throw new FormatException($"{name} line {lineNumber}: expected 'x,y' numbers, got '{raw}'");
            }

            x.Add(xv);
            y.Add(yv);
        }

        return (x, y);
    }
}

/// <summary>A finished fit with its optimality report, and the files written for it.</summary>
public sealed record PwlaResult(string Source, PwlaProblem Problem, PwlaFit Fit, ConditionsReport Report)
{
    // Dense enough that the sup of a smooth target's residual is found to plot accuracy; samples use every sample.
    private const int DeviationPoints = 4001;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The L2 error: √E, the root of the integral (or sum) of squared residuals.</summary>
    public double L2 => Math.Sqrt(Math.Max(0, Fit.Error));

    /// <summary>The L∞ error: the largest |f − g| on a dense grid (function) or over the samples.</summary>
    public double MaxDeviation { get; } = MaxAbsResidual(Problem.Target, Fit.Function);

    /// <summary>The <c>fit.json</c> document: knots, lines, errors, hinge and lattice forms, optimality conditions.</summary>
    public string ToJson()
    {
        var f = Fit.Function;
        var hinge = HingeForm.From(f);
        return JsonSerializer.Serialize(new
        {
            Source,
            Fit.Method,
            Problem.Continuous,
            Problem.Segments,
            Interval = new[] { f.A, f.B },
            Fit.Error,
            L2,
            MaxDeviation,
            Seconds = Fit.Elapsed.TotalSeconds,
            Fit.Evaluations,
            f.Knots,
            Lines = Enumerable.Range(0, f.Segments).Select(k => new { Start = f.Segment(k).Start, End = f.Segment(k).End, Slope = f.Slopes[k], Intercept = f.Intercepts[k] }),
            Hinge = new { hinge.C0, hinge.C1, hinge.Knots, hinge.Kinks, hinge.Jumps },
            Lattice = Problem.Continuous ? LatticeForm.From(f) : null,
            Conditions = Report,
        }, Json);
    }

    /// <summary>The human-readable summary the CLI prints.</summary>
    public string Summary()
    {
        var f = Fit.Function;
        var text = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        text.AppendLine(inv, $"{Source} on [{f.A:G6}, {f.B:G6}], {Problem.Segments} segments, {(Problem.Continuous ? "continuous (CPWLA)" : "jumps allowed (PWLA)")}, method {Fit.Method}");
        text.AppendLine(inv, $"E = {Fit.Error:G10} in {Fit.Elapsed.TotalSeconds:F3} s ({Fit.Evaluations} error evaluations)");
        text.AppendLine(inv, $"knots: {string.Join(", ", f.Knots.Select(t => t.ToString("G8", inv)))}");
        for (var k = 0; k < f.Segments; k++)
        {
            var (start, end) = f.Segment(k);
            text.AppendLine(inv, $"  [{start:G8}, {end:G8}]: y = {f.Slopes[k]:G8} x + {f.Intercepts[k]:G8}");
        }

        text.AppendLine(inv, $"optimality (spec 2.3): line conditions off by {Report.LineViolation:E2}, knot conditions off by {Report.KnotViolation:E2}");
        return text.ToString();
    }

    /// <summary>The plot (target, fit, knots, residual) as PNG bytes.</summary>
    public byte[] PlotPng()
    {
        var plot = FitPlot.Render(Problem.Target, Fit.Function);
        using var buffer = new MemoryStream();
        PngEncoder.Write(buffer, plot.Pixels, plot.Width, plot.Height, PngColorType.Rgb);
        return buffer.ToArray();
    }

    private static double MaxAbsResidual(PwlaTarget target, PiecewiseLinear f)
    {
        var (xs, ys) = target.Sample(DeviationPoints);
        var max = 0.0;
        for (var i = 0; i < xs.Length; i++)
        {
            max = Math.Max(max, Math.Abs(ys[i] - f.Evaluate(xs[i])));
        }

        return max;
    }
}
