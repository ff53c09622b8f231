using Salient.Pwla;

namespace Salient.Pwla.Tests;

public sealed class MathExpressionTests
{
    [Theory]
    [InlineData("x", 0.5, 0.5)]
    [InlineData("2 + 3 * x", 2, 8)]
    [InlineData("(2 + 3) * x", 2, 10)]
    [InlineData("2 ^ 3 ^ 2", 0, 512)]
    [InlineData("-x^2", 3, -9)]
    [InlineData("2^-x", 1, 0.5)]
    [InlineData("--x", 4, 4)]
    [InlineData("1/(1 + 25*x^2)", 0.2, 0.5)]
    [InlineData("sin(pi/2) + cos(0) + tan(0) + exp(0) + log(e) + sqrt(4) + abs(-1) + tanh(0)", 0, 7)]
    [InlineData("step(x - 0.37)", 0.37, 0)]
    [InlineData("step(x - 0.37)", 0.3700001, 1)]
    [InlineData("1.5e-3 * 2E+3", 0, 3)]
    [InlineData("  x*x  ", 3, 9)]
    public void Good_expressions_evaluate(string text, double x, double expected)
        => Assert.Equal(expected, MathExpression.Parse(text).Evaluate(x), 12);

    [Fact]
    public void Span_evaluation_matches_point_evaluation()
    {
        var f = MathExpression.Parse("sin(6*x) + step(x - 0.37) * (x - 1)^2 / (2 + x)");
        var xs = Enumerable.Range(0, 101).Select(i => i / 100.0).ToArray();
        var ys = new double[xs.Length];
        f.Evaluate(xs, ys);
        for (var i = 0; i < xs.Length; i++)
        {
            Assert.Equal(f.Evaluate(xs[i]), ys[i], 15);
        }
    }

    [Fact]
    public void Step_and_abs_arguments_give_break_points()
    {
        var points = MathExpression.Parse("step(x - 0.37) + abs(x - 0.81) + sin(x)").BreakPoints(0, 1);

        Assert.Equal(2, points.Count);
        Assert.Equal(0.37, points[0], 12);
        Assert.Equal(0.81, points[1], 12);
    }

    [Theory]
    [InlineData("", 0, "empty")]
    [InlineData("2 +", 3, "ends")]
    [InlineData("sin x", 4, "parentheses")]
    [InlineData("foo(x)", 0, "unknown name 'foo'")]
    [InlineData("(x + 1", 0, "never closed")]
    [InlineData("x + 1)", 5, "unmatched")]
    [InlineData("2 x", 2, "expected an operator")]
    [InlineData("x $ 2", 2, "unexpected '$'")]
    [InlineData("1.2.3", 0, "not a number")]
    [InlineData("sin()", 3, "empty parentheses")]
    [InlineData("y + 1", 0, "unknown name 'y'")]
    public void Bad_expressions_say_what_and_where(string text, int position, string message)
    {
        var error = Assert.Throws<ExpressionException>(() => MathExpression.Parse(text));

        Assert.Equal(position, error.Position);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deep_nesting_is_refused_not_a_stack_overflow()
    {
        var text = new string('(', 5000) + "x" + new string(')', 5000);

        Assert.Throws<ExpressionException>(() => MathExpression.Parse(text));
        Assert.Throws<ExpressionException>(() => MathExpression.Parse(new string('-', 5000) + "x"));
    }
}
