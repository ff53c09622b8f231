using System.Diagnostics;

namespace Salient.Pwla;

/// <summary>
/// Training switches for <see cref="LnnSolver"/>; each improvement of spec §2.5 can be turned off to measure it.
/// Knots and the learning rate are in units of the interval length.
/// </summary>
public sealed record LnnOptions
{
    /// <summary>Adam steps per start (cap).</summary>
    public int MaxSteps { get; init; } = 3000;

    /// <summary>Adam step size for knots (fraction of the interval); coefficients use it times the target's RMS.</summary>
    public double LearningRate { get; init; } = 0.01;

    /// <summary>Cosine decay of the learning rate to 1% over <see cref="MaxSteps"/>, so Adam settles instead of orbiting.</summary>
    public bool DecayLearningRate { get; init; } = true;

    /// <summary>First start from equispaced knots (with <see cref="InitialJitter"/>); otherwise uniform random knots.</summary>
    public bool EquispacedStart { get; init; } = true;

    /// <summary>Uniform jitter added to equispaced knots (fraction of the interval).</summary>
    public double InitialJitter { get; init; } = 1e-3;

    /// <summary>Re-solve the linear part exactly (least squares) after every knot step; otherwise Adam trains it too.</summary>
    public bool VariableProjection { get; init; } = true;

    /// <summary>Clip knots to the interval and keep them sorted (with their Adam state) after every step.</summary>
    public bool SortAndClip { get; init; } = true;

    /// <summary>Re-seed knots that coincide (closer than <see cref="MergeDistance"/>) or are dead at the largest local residual.</summary>
    public bool MergeAndReseed { get; init; } = true;

    /// <summary>Knots closer than this (fraction of the interval) to each other or to an end are merged.</summary>
    public double MergeDistance { get; init; } = 1e-4;

    /// <summary>Independent starts (the first as configured, the rest random); the best is kept.</summary>
    public int Starts { get; init; } = 1;

    /// <summary>
    /// Rounds of knot relocation after training: a knot that is cheap to remove is moved to the residual-energy median
    /// of a segment with large error and the network retrained; the first move that lowers E is kept. Escapes traps
    /// such as a symmetric pair of knots on the peak of the Runge function. 0 turns it off.
    /// </summary>
    public int Relocations { get; init; } = 3;

    /// <summary>Per relocation round: this many cheapest-to-remove knots, each tried at this many worst segments.</summary>
    public int RelocationCandidates { get; init; } = 3;

    /// <summary>Finish with BFGS on the knots (analytic gradient, exact inner least squares).</summary>
    public bool Polish { get; init; } = true;

    /// <summary>Stop a start when the relative loss change stays below this for <see cref="Patience"/> steps.</summary>
    public double Tolerance { get; init; } = 1e-10;

    /// <summary>Steps of stalled loss before stopping.</summary>
    public int Patience { get; init; } = 500;

    /// <summary>Seed for jitter and random starts.</summary>
    public int Seed { get; init; }
}

/// <summary>
/// The lattice neural network solver (spec §2.4–2.5): trains the hinge form (knots are parameters) with full-batch
/// Adam on the least-squares error; the result converts to the max–min lattice form with <see cref="LatticeForm.From"/>.
/// </summary>
public static class LnnSolver
{
    private const double Beta1 = 0.9;
    private const double Beta2 = 0.999;
    private const double Epsilon = 1e-12;

    /// <summary>Fits <paramref name="problem"/>; the fit's Error is the least-squares error of the returned function.</summary>
    public static PwlaFit Fit(PwlaProblem problem, LnnOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(problem);
        options ??= new LnnOptions();
        var clock = Stopwatch.StartNew();
        var model = new HingeModel(problem.Target, problem.Segments, problem.Continuous);
        var random = new Random(options.Seed);
        double[] bestKnots = [];
        double[] bestCoefficients = [];
        var bestError = double.PositiveInfinity;
        for (var start = 0; start < Math.Max(options.Starts, 1); start++)
        {
            var knots = start == 0 && options.EquispacedStart ? Equispaced(model.KnotCount, options.InitialJitter, random) : RandomKnots(model.KnotCount, random);
            var (error, coefficients) = Train(model, knots, options);
            if (options.Relocations > 0 && model.KnotCount > 0)
            {
                (error, knots, coefficients) = Relocate(model, knots, error, coefficients, options);
            }

            if (error < bestError)
            {
                (bestError, bestKnots, bestCoefficients) = (error, knots, coefficients);
            }
        }

        if (options.Polish)
        {
            var (knots, error) = KnotSearch.Polish(model, bestKnots);
            if (error < bestError)
            {
                var coefficients = new double[model.CoefficientCount];
                bestError = model.Solve(knots, coefficients);
                (bestKnots, bestCoefficients) = (knots, coefficients);
            }
        }

        var function = model.ToFunction(bestKnots, bestCoefficients);
        return new PwlaFit("lnn", function, bestError, clock.Elapsed, model.Evaluations);
    }

    internal static double[] Equispaced(int count, double jitter, Random random)
        => [.. Enumerable.Range(1, count).Select(i => Math.Clamp(((double)i / (count + 1)) + (jitter * ((2 * random.NextDouble()) - 1)), 0, 1))];

    internal static double[] RandomKnots(int count, Random random)
        => [.. Enumerable.Range(0, count).Select(_ => random.NextDouble()).Order()];

    /// <summary>One start; <paramref name="knots"/> ends as the best knots seen. Returns E and the matching coefficients.</summary>
    private static (double Error, double[] Coefficients) Train(HingeModel model, double[] knots, LnnOptions options)
    {
        var m = model.KnotCount;
        var p = model.CoefficientCount;
        var coefficients = new double[p];

        // The linear part is warm-started by exact least squares for the initial knots in every configuration.
        var error = model.Solve(knots, coefficients);
        var bestError = error;
        var bestKnots = (double[])knots.Clone();
        var bestCoefficients = (double[])coefficients.Clone();
        var knotAdam = new Adam(m);
        var coefficientAdam = new Adam(p);
        var knotGradient = new double[m];
        var coefficientGradient = new double[p];
        // Coefficients move in the target's units, knots in interval units.
        var coefficientScale = TargetScale(model);
        var reseeds = 0;
        var stalled = 0;
        for (var step = 1; step <= options.MaxSteps && stalled < options.Patience; step++)
        {
            var rate = options.DecayLearningRate
                ? options.LearningRate * (0.01 + (0.99 * 0.5 * (1 + Math.Cos(Math.PI * (step - 1) / options.MaxSteps))))
                : options.LearningRate;
            model.KnotGradient(knots, coefficients, knotGradient);
            if (!options.VariableProjection)
            {
                model.CoefficientGradient(knots, coefficientGradient);
                coefficientAdam.Step(coefficients, coefficientGradient, coefficientScale * rate);
            }

            knotAdam.Step(knots, knotGradient, rate);
            if (options.SortAndClip)
            {
                SortAndClip(knots, coefficients, knotAdam, m);
            }

            if (options.MergeAndReseed && reseeds < 2 * m && Reseed(model, knots, coefficients, knotAdam, options.MergeDistance))
            {
                reseeds++;
                if (options.SortAndClip)
                {
                    SortAndClip(knots, coefficients, knotAdam, m);
                }
            }

            var previous = error;
            error = options.VariableProjection ? model.Solve(knots, coefficients) : model.Evaluate(knots, coefficients);
            stalled = Math.Abs(previous - error) <= options.Tolerance * Math.Abs(error) ? stalled + 1 : 0;
            if (error < bestError)
            {
                bestError = error;
                knots.CopyTo(bestKnots, 0);
                coefficients.CopyTo(bestCoefficients, 0);
            }
        }

        bestKnots.CopyTo(knots, 0);
        return (bestError, bestCoefficients);
    }

    private static (double Error, double[] Knots, double[] Coefficients) Relocate(HingeModel model, double[] knots, double error, double[] coefficients, LnnOptions options)
    {
        var m = model.KnotCount;
        var reduced = new HingeModel(model.Target, m, model.Continuous);
        var reducedCoefficients = new double[reduced.CoefficientCount];
        var scratch = new double[model.CoefficientCount];
        for (var round = 0; round < options.Relocations; round++)
        {
            // Destinations come from the full fit's residual: after a removal the merged segment would always win and
            // the knot would go straight back.
            model.Solve(knots, scratch);
            var destinations = SegmentMedians(model, knots, options.MergeDistance).Take(options.RelocationCandidates).ToList();
            var removalCost = Enumerable.Range(0, m).Select(i => reduced.Solve(Without(knots, i), reducedCoefficients)).ToArray();
            var improved = false;
            foreach (var i in Enumerable.Range(0, m).OrderBy(i => removalCost[i]).Take(options.RelocationCandidates))
            {
                foreach (var destination in destinations)
                {
                    var trial = Without(knots, i).Append(destination).Order().ToArray();
                    var (trialError, trialCoefficients) = Train(model, trial, options);
                    if (trialError < error * (1 - 1e-9))
                    {
                        (error, knots, coefficients, improved) = (trialError, trial, trialCoefficients, true);
                        break;
                    }
                }

                if (improved)
                {
                    break;
                }
            }

            if (!improved)
            {
                break;
            }
        }

        return (error, knots, coefficients);
    }

    private static double[] Without(double[] knots, int index) => [.. knots.Where((_, j) => j != index)];

    /// <summary>
    /// Where a new knot helps most: each segment's residual-energy median (from the last evaluation), kept
    /// <paramref name="margin"/> away from the segment's ends, largest segment error first.
    /// </summary>
    private static IEnumerable<double> SegmentMedians(HingeModel model, double[] knots, double margin)
    {
        var edges = knots.Select(k => Math.Clamp(k, 0, 1)).Order().Prepend(0).Append(1).ToArray();
        var segments = new List<(double Energy, double Median)>();
        for (var k = 0; k + 1 < edges.Length; k++)
        {
            if (edges[k + 1] - edges[k] > 2 * margin)
            {
                var energy = model.ResidualEnergy(edges[k], edges[k + 1], out var median);
                segments.Add((energy, Math.Clamp(median, edges[k] + margin, edges[k + 1] - margin)));
            }
        }

        return segments.OrderByDescending(s => s.Energy).Select(s => s.Median);
    }

    private static double TargetScale(HingeModel model)
    {
        var (_, y) = model.Target.Sample(257);
        var rms = Math.Sqrt(y.Average(v => v * v));
        return rms > 0 ? rms : 1;
    }

    private static void SortAndClip(double[] knots, double[] coefficients, Adam adam, int m)
    {
        for (var i = 0; i < m; i++)
        {
            knots[i] = Math.Clamp(knots[i], 0, 1);
        }

        // Insertion sort: knots are nearly sorted; each knot's coefficients and Adam moments travel with it.
        var jumps = coefficients.Length > 2 + m;
        for (var i = 1; i < m; i++)
        {
            for (var j = i; j > 0 && knots[j - 1] > knots[j]; j--)
            {
                (knots[j - 1], knots[j]) = (knots[j], knots[j - 1]);
                (coefficients[2 + j - 1], coefficients[2 + j]) = (coefficients[2 + j], coefficients[2 + j - 1]);
                if (jumps)
                {
                    (coefficients[2 + m + j - 1], coefficients[2 + m + j]) = (coefficients[2 + m + j], coefficients[2 + m + j - 1]);
                }

                adam.Swap(j - 1, j);
            }
        }
    }

    /// <summary>
    /// Moves one coincident or dead knot to the residual-energy median of the worst segment. A coincident or dead knot
    /// adds nothing to the fit, so with the linear part re-solved this never raises E.
    /// </summary>
    private static bool Reseed(HingeModel model, double[] knots, double[] coefficients, Adam adam, double distance)
    {
        var m = knots.Length;
        var order = Enumerable.Range(0, m).OrderBy(i => knots[i]).ToArray();
        var slopeScale = Math.Abs(coefficients[1]) + Enumerable.Range(0, m).Sum(i => Math.Abs(coefficients[2 + i]));
        var idle = -1;
        for (var k = 0; k < m && idle < 0; k++)
        {
            var i = order[k];
            var left = k == 0 ? 0 : knots[order[k - 1]];
            var coincident = knots[i] - left < distance || (k == m - 1 && 1 - knots[i] < distance);
            var dead = Math.Abs(coefficients[2 + i]) <= 1e-9 * slopeScale
                && (coefficients.Length == 2 + m || Math.Abs(coefficients[2 + m + i]) <= 1e-9 * (Math.Abs(coefficients[0]) + slopeScale));
            if (coincident || dead)
            {
                idle = i;
            }
        }

        if (idle < 0)
        {
            return false;
        }

        var target = SegmentMedians(model, knots, distance).DefaultIfEmpty(knots[idle]).First();
        knots[idle] = target;
        adam.Reset(idle);
        return true;
    }

    /// <summary>Adam state for one parameter vector.</summary>
    private sealed class Adam(int size)
    {
        private readonly double[] _m = new double[size];
        private readonly double[] _v = new double[size];
        private readonly int[] _t = new int[size];

        public void Step(double[] parameters, double[] gradient, double rate)
        {
            for (var i = 0; i < parameters.Length; i++)
            {
                _t[i]++;
                _m[i] = (Beta1 * _m[i]) + ((1 - Beta1) * gradient[i]);
                _v[i] = (Beta2 * _v[i]) + ((1 - Beta2) * gradient[i] * gradient[i]);
                var mHat = _m[i] / (1 - Math.Pow(Beta1, _t[i]));
                var vHat = _v[i] / (1 - Math.Pow(Beta2, _t[i]));
                parameters[i] -= rate * mHat / (Math.Sqrt(vHat) + Epsilon);
            }
        }

        public void Swap(int i, int j)
        {
            (_m[i], _m[j]) = (_m[j], _m[i]);
            (_v[i], _v[j]) = (_v[j], _v[i]);
            (_t[i], _t[j]) = (_t[j], _t[i]);
        }

        public void Reset(int i) => (_m[i], _v[i], _t[i]) = (0, 0, 0);
    }
}
