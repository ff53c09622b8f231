using System.Diagnostics;

namespace Salient.Pwla;

/// <summary>
/// Reference optimum E* (spec §2.6): multi-start Nelder–Mead on the knots with the exact inner least squares, each
/// start finished by BFGS; starts are equispaced, uniform random and, for discontinuous problems, the DP solution.
/// </summary>
public static class ReferenceOptimum
{
    /// <summary>The best of <paramref name="starts"/> local searches.</summary>
    public static PwlaFit Fit(PwlaProblem problem, int starts = 20, int seed = 12345)
    {
        ArgumentNullException.ThrowIfNull(problem);
        var clock = Stopwatch.StartNew();
        var model = new HingeModel(problem.Target, problem.Segments, problem.Continuous);
        var m = model.KnotCount;
        var coefficients = new double[model.CoefficientCount];
        var random = new Random(seed);
        var initial = new List<double[]> { LnnSolver.Equispaced(m, 0, random) };
        if (!problem.Continuous)
        {
            // A coarse DP is only a start: the local search refines its knots.
            initial.Add([.. SegmentedLeastSquares.Fit(problem, functionSamples: 501).Function.Knots.Select(problem.Target.ToUnit)]);
        }

        while (initial.Count < Math.Max(starts, 1))
        {
            initial.Add(LnnSolver.RandomKnots(m, random));
        }

        double[] bestKnots = [];
        var bestError = double.PositiveInfinity;
        foreach (var start in initial)
        {
            var (simplexBest, _) = KnotSearch.NelderMead(
                knots => KnotSearch.ProjectedError(model, knots, coefficients),
                start,
                step: 0.5 / (m + 1),
                maxEvaluations: 400 * Math.Max(m, 1),
                relativeTolerance: 1e-12);
            var (knots, error) = KnotSearch.Polish(model, simplexBest);
            if (error < bestError)
            {
                (bestError, bestKnots) = (error, knots);
            }
        }

        var final = model.Solve(bestKnots, coefficients);
        return new PwlaFit("reference", model.ToFunction(bestKnots, coefficients), final, clock.Elapsed, model.Evaluations);
    }
}
