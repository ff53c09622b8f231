using System.Collections.Concurrent;

namespace Salient.Pwla;

/// <summary>One benchmark function of spec §2.7.</summary>
public sealed record BenchFunction(string Name, string Expression, double A, double B);

/// <summary>One solver run: E, E/E*, whether it counts as a success, and wall time.</summary>
public sealed record BenchRun(string Function, int Segments, bool Continuous, string Method, int Seed, double Error, double Ratio, bool Success, double Seconds);

/// <summary>A method's summary over all its runs.</summary>
public sealed record BenchSummary(string Method, bool Continuous, int Runs, double MedianRatio, double MeanRatio, double WorstRatio, double SuccessRate, double MedianSeconds, double TotalSeconds);

/// <summary>Reference error E* of one case (the best of the reference search and every run) and what the reference search took.</summary>
public sealed record BenchCase(string Function, int Segments, bool Continuous, double ReferenceError, double BestError, double ReferenceSeconds);

/// <summary>
/// Runs the suite of spec §2.7: every function × segment count × variant × method × seed. E* of a case is the smallest E
/// found by the multi-start reference or by any run; a run succeeds when E/E* ≤ <see cref="SuccessRatio"/>.
/// </summary>
public sealed class PwlaBench
{
    public static readonly IReadOnlyList<BenchFunction> Suite =
    [
        new("sin", "sin(x)", 0, 2 * Math.PI),
        new("exp", "exp(x)", 0, 2),
        new("square", "x^2", -1, 1),
        new("tanh", "tanh(10*(x - 0.37))", 0, 1),
        new("sqrt", "sqrt(x)", 0, 1),
        new("runge", "1/(1 + 25*x^2)", -1, 1),
        new("sin-step", "sin(6*x) + step(x - 0.37)", 0, 1),
    ];

    /// <summary>Methods by name; each is given the problem and a seed.</summary>
    public static readonly IReadOnlyDictionary<string, Func<PwlaProblem, int, PwlaFit>> Methods = new Dictionary<string, Func<PwlaProblem, int, PwlaFit>>
    {
        ["lnn"] = (p, seed) => LnnSolver.Fit(p, new LnnOptions { Seed = seed }),
        ["de"] = (p, seed) => DifferentialEvolution.Fit(p, new DifferentialEvolutionOptions { Seed = seed }),
        ["dp"] = (p, _) => SegmentedLeastSquares.Fit(p),
        ["lnn-4starts"] = (p, seed) => LnnSolver.Fit(p, new LnnOptions { Seed = seed, Starts = 4 }),
        ["lnn-no-polish"] = (p, seed) => LnnSolver.Fit(p, new LnnOptions { Seed = seed, Polish = false }),
        ["lnn-no-varpro"] = (p, seed) => LnnSolver.Fit(p, new LnnOptions { Seed = seed, VariableProjection = false }),
        ["lnn-random-init"] = (p, seed) => LnnSolver.Fit(p, new LnnOptions { Seed = seed, EquispacedStart = false }),
        ["lnn-no-reseed"] = (p, seed) => LnnSolver.Fit(p, new LnnOptions { Seed = seed, MergeAndReseed = false }),
        ["lnn-no-sort"] = (p, seed) => LnnSolver.Fit(p, new LnnOptions { Seed = seed, SortAndClip = false }),
        ["lnn-no-relocation"] = (p, seed) => LnnSolver.Fit(p, new LnnOptions { Seed = seed, Relocations = 0 }),
        ["lnn-no-decay"] = (p, seed) => LnnSolver.Fit(p, new LnnOptions { Seed = seed, DecayLearningRate = false }),
        ["lnn-bare"] = (p, seed) => LnnSolver.Fit(p, new LnnOptions
        {
            Seed = seed, Polish = false, VariableProjection = false, MergeAndReseed = false, DecayLearningRate = false, Relocations = 0,
        }),
    };

    public double SuccessRatio { get; init; } = 1.001;

    public int ReferenceStarts { get; init; } = 20;

    public int Parallelism { get; init; } = 1;

    public required IReadOnlyList<BenchFunction> Functions { get; init; }

    public required IReadOnlyList<int> Segments { get; init; }

    public required IReadOnlyList<bool> Variants { get; init; }

    public required IReadOnlyList<string> MethodNames { get; init; }

    public required int Seeds { get; init; }

    /// <summary>Runs everything; <paramref name="progress"/> gets (cases done, cases in all).</summary>
    public (IReadOnlyList<BenchCase> Cases, IReadOnlyList<BenchRun> Runs) Run(Action<int, int>? progress = null)
    {
        var cases = (from function in Functions
                     from k in Segments
                     from continuous in Variants
                     select (function, k, continuous)).ToList();
        var caseResults = new ConcurrentBag<BenchCase>();
        var runs = new ConcurrentBag<BenchRun>();
        var done = 0;
        Parallel.ForEach(cases, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(Parallelism, 1) }, c =>
        {
            var (function, k, continuous) = c;
            var problem = new PwlaProblem(PwlaTarget.FromExpression(MathExpression.Parse(function.Expression), function.A, function.B), k, continuous);
            var reference = ReferenceOptimum.Fit(problem, ReferenceStarts);
            var fits = new List<(string Method, int Seed, PwlaFit Fit)>();
            foreach (var method in MethodNames.Where(m => !continuous || m != "dp"))
            {
                // DP is deterministic: one run stands for all seeds.
                var seeds = method == "dp" ? 1 : Seeds;
                for (var seed = 0; seed < seeds; seed++)
                {
                    fits.Add((method, seed, Methods[method](problem, seed)));
                }
            }

            var best = fits.Select(f => f.Fit.Error).Append(reference.Error).Min();
            foreach (var (method, seed, fit) in fits)
            {
                var ratio = best > 0 ? fit.Error / best : (fit.Error == 0 ? 1 : double.PositiveInfinity);
                runs.Add(new BenchRun(function.Name, k, continuous, method, seed, fit.Error, ratio, ratio <= SuccessRatio, fit.Elapsed.TotalSeconds));
            }

            caseResults.Add(new BenchCase(function.Name, k, continuous, reference.Error, best, reference.Elapsed.TotalSeconds));
            progress?.Invoke(Interlocked.Increment(ref done), cases.Count);
        });

        var order = Functions.Select(f => f.Name).ToList();
        return (
            [.. caseResults.OrderBy(c => order.IndexOf(c.Function)).ThenBy(c => c.Segments).ThenByDescending(c => c.Continuous)],
            [.. runs.OrderBy(r => order.IndexOf(r.Function)).ThenBy(r => r.Segments).ThenByDescending(r => r.Continuous).ThenBy(r => MethodNames.ToList().IndexOf(r.Method)).ThenBy(r => r.Seed)]);
    }

    /// <summary>Per method and variant: median, mean and worst E/E*, success rate, median and total time.</summary>
    public static IReadOnlyList<BenchSummary> Summarise(IEnumerable<BenchRun> runs)
        => [.. runs.GroupBy(r => (r.Method, r.Continuous)).Select(g => new BenchSummary(
            g.Key.Method,
            g.Key.Continuous,
            g.Count(),
            Median(g.Select(r => r.Ratio)),
            g.Average(r => r.Ratio),
            g.Max(r => r.Ratio),
            g.Count(r => r.Success) / (double)g.Count(),
            Median(g.Select(r => r.Seconds)),
            g.Sum(r => r.Seconds)))];

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : 0.5 * (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]);
    }
}
