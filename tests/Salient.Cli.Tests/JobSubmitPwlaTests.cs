namespace Salient.Cli.Tests;

/// <summary><c>salient job submit --kind pwla</c>: which options it takes, checked before any coordinator is contacted.</summary>
public sealed class JobSubmitPwlaTests
{
    [Theory]
    [InlineData("--model is required", "job", "submit", "--prefix", "a/")]
    [InlineData("--model is required", "job", "submit", "--kind", "pwla", "--model", "resnet", "--function", "x", "--interval", "0,1")]
    [InlineData("--interval:", "job", "submit", "--kind", "pwla", "--function", "x", "--interval", "1,0")]
    // Valid options: the command gets as far as wanting a coordinator.
    [InlineData("coordinator's URL", "job", "submit", "--kind", "pwla", "--function", "sin(6*x)", "--interval", "0,2*pi", "--segments", "3", "--coordinator", "")]
    public void Options_are_checked_before_submitting(string reason, params string[] args)
    {
        var (exit, _, error) = Cli.Run(args);
        Assert.Equal(1, exit);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }
}
