using Salient.Methods.Lnn;
using Xunit.Abstractions;

namespace Salient.Methods.Tests.Lnn;

public sealed class ScratchTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("sin(x)", 0, 6.283185307179586, 4)]
    [InlineData("sin(6*x) + step(x - 0.37)", 0, 1, 3)]
    [InlineData("tanh(10*(x-0.37))", 0, 1, 3)]
    public void Run(string expr, double a, double b, int k)
    {
        foreach (var continuous in new[] { true, false })
        {
            var problem = new PwlaProblem(PwlaTarget.FromExpression(MathExpression.Parse(expr), a, b), k, continuous);
            var fits = new List<PwlaFit> { ReferenceOptimum.Fit(problem), LnnSolver.Fit(problem), DifferentialEvolution.Fit(problem) };
            if (!continuous)
            {
                fits.Add(SegmentedLeastSquares.Fit(problem));
            }

            foreach (var fit in fits)
            {
                var report = OptimalityConditions.Check(problem, fit.Function);
                output.WriteLine($"{expr} cont={continuous} {fit.Method}: E={fit.Error:R} knots={string.Join(",", fit.Function.Knots.Select(t => t.ToString("F5")))} maxjump={fit.Function.MaxJump():E2} line={report.LineViolation:E2} knot={report.KnotViolation:E2} t={fit.Elapsed.TotalMilliseconds:F0}ms evals={fit.Evaluations}");
            }
        }
    }
}
