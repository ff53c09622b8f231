using Salient.Methods.Lnn;
using Xunit.Abstractions;

namespace Salient.Methods.Tests.Lnn;

public sealed class ScratchTests(ITestOutputHelper output)
{
    [Fact]
    public void Sin4()
    {
        var problem = new PwlaProblem(PwlaTarget.FromExpression(MathExpression.Parse("sin(x)"), 0, 2 * Math.PI), 4, true);
        var fixedFit = problem.FitKnots([1.10988, 1.98160, 4.58132]);
        output.WriteLine($"fixed E={fixedFit.Error:R}");
        foreach (var polish in new[] { false, true })
        {
            for (var seed = 0; seed < 3; seed++)
            {
                var fit = LnnSolver.Fit(problem, new LnnOptions { Seed = seed, Polish = polish });
                output.WriteLine($"polish={polish} seed={seed} E={fit.Error:R} knots={string.Join(",", fit.Function.Knots.Select(k => k.ToString("F5")))} t={fit.Elapsed.TotalMilliseconds}ms evals={fit.Evaluations}");
            }
        }
    }
}
