using System.Diagnostics;

namespace Salient.Pwla;

/// <summary>
/// Exact dynamic programming for discontinuous PWLA on samples (Bellman 1961; segmented least squares): segment costs
/// from prefix sums, then D[k][j] = min_i D[k−1][i] + cost(i+1..j). O(K n²) time.
/// </summary>
public static class SegmentedLeastSquares
{
    /// <summary>
    /// Solves <paramref name="problem"/> (discontinuous only). Samples are the target's own, and knots go midway between
    /// the samples that end and start segments. A function is sampled at <paramref name="functionSamples"/> equispaced
    /// points with trapezoid weights; each knot is then placed by golden-section search inside its gap between two
    /// samples, and the lines and E are re-solved on the function itself.
    /// </summary>
    public static PwlaFit Fit(PwlaProblem problem, int functionSamples = 2001)
    {
        ArgumentNullException.ThrowIfNull(problem);
        if (problem.Continuous)
        {
            throw new ArgumentException("dynamic programming solves the discontinuous problem only");
        }

        var clock = Stopwatch.StartNew();
        var target = problem.Target;
        var (x, y) = target.Sample(functionSamples);
        var w = new double[x.Length];
        if (target is SampleTarget)
        {
            w.AsSpan().Fill(1);
        }
        else
        {
            var h = target.Length / (x.Length - 1);
            w.AsSpan().Fill(h);
            w[0] = w[^1] = h / 2;
        }

        var ends = Solve([.. x.Select(target.ToUnit)], y, w, problem.Segments);
        var knots = ends.SkipLast(1).Select(e => 0.5 * (x[e] + x[e + 1])).ToArray();
        var evaluations = 1L;
        if (target is not SampleTarget)
        {
            // The grid only says between which two samples a knot lies; where exactly matters for the integral (a jump
            // of f on a sample would otherwise cost half a grid step of it). Refine each knot inside its gap.
            for (var k = 0; k < knots.Length; k++)
            {
                evaluations += RefineInGap(problem, knots, k, x[ends[k]], x[ends[k] + 1]);
            }
        }

        var fit = problem.FitKnots(knots, "dp");
        return fit with { Elapsed = clock.Elapsed, Evaluations = evaluations };
    }

    /// <summary>Golden-section search for knot k in [lo, hi], the others fixed; returns the evaluations used.</summary>
    private static int RefineInGap(PwlaProblem problem, double[] knots, int k, double lo, double hi)
    {
        const int Iterations = 30;
        var ratio = (Math.Sqrt(5) - 1) / 2;
        double ErrorAt(double t)
        {
            knots[k] = t;
            return problem.FitKnots(knots).Error;
        }

        var left = hi - (ratio * (hi - lo));
        var right = lo + (ratio * (hi - lo));
        var errorLeft = ErrorAt(left);
        var errorRight = ErrorAt(right);
        for (var i = 0; i < Iterations; i++)
        {
            if (errorLeft <= errorRight)
            {
                (hi, right, errorRight) = (right, left, errorLeft);
                left = hi - (ratio * (hi - lo));
                errorLeft = ErrorAt(left);
            }
            else
            {
                (lo, left, errorLeft) = (left, right, errorRight);
                right = lo + (ratio * (hi - lo));
                errorRight = ErrorAt(right);
            }
        }

        knots[k] = errorLeft <= errorRight ? left : right;
        return Iterations + 2;
    }

    /// <summary>Index of the last sample of each segment for the minimum weighted SSE with at most <paramref name="segments"/> segments.</summary>
    internal static int[] Solve(double[] u, double[] y, double[] w, int segments)
    {
        var n = u.Length;
        segments = Math.Clamp(segments, 1, n);
        var mean = y.Zip(w, (a, b) => a * b).Sum() / w.Sum();

        // Prefix sums of w, wu, wu², wy, wuy, wy² (y centred so that tiny errors do not drown in cancellation).
        var sums = new double[6, n + 1];
        for (var i = 0; i < n; i++)
        {
            var yc = y[i] - mean;
            double[] terms = [w[i], w[i] * u[i], w[i] * u[i] * u[i], w[i] * yc, w[i] * u[i] * yc, w[i] * yc * yc];
            for (var k = 0; k < 6; k++)
            {
                sums[k, i + 1] = sums[k, i] + terms[k];
            }
        }

        double Cost(int from, int to)
        {
            // Weighted SSE of the best line through samples from..to (inclusive).
            double S(int k) => sums[k, to + 1] - sums[k, from];
            var sw = S(0);
            var su = S(1);
            var suu = S(2);
            var sy = S(3);
            var suy = S(4);
            var syy = S(5);
            var varU = suu - (su * su / sw);
            var covUy = suy - (su * sy / sw);
            var sse = syy - (sy * sy / sw) - (varU > 1e-14 * suu ? covUy * covUy / varU : 0);
            return Math.Max(sse, 0);
        }

        var best = new double[segments + 1, n];
        var from = new int[segments + 1, n];
        for (var j = 0; j < n; j++)
        {
            best[1, j] = Cost(0, j);
        }

        for (var k = 2; k <= segments; k++)
        {
            for (var j = 0; j < n; j++)
            {
                best[k, j] = best[k - 1, j];
                from[k, j] = -1;
                for (var i = k - 2; i < j; i++)
                {
                    var candidate = best[k - 1, i] + Cost(i + 1, j);
                    if (candidate < best[k, j])
                    {
                        best[k, j] = candidate;
                        from[k, j] = i;
                    }
                }
            }
        }

        // Backtrack; a "-1" means fewer segments were as good, and the missing ends are filled by splitting the longest.
        var ends = new List<int> { n - 1 };
        var end = n - 1;
        for (var k = segments; k >= 2; k--)
        {
            if (from[k, end] >= 0)
            {
                end = from[k, end];
                ends.Add(end);
            }
        }

        ends.Sort();
        while (ends.Count < segments)
        {
            var widest = Enumerable.Range(0, ends.Count).MaxBy(k => ends[k] - (k == 0 ? -1 : ends[k - 1]));
            var start = widest == 0 ? 0 : ends[widest - 1] + 1;
            if (ends[widest] - start < 1)
            {
                break;
            }

            ends.Insert(widest, (start + ends[widest]) / 2);
        }

        return [.. ends];
    }
}
