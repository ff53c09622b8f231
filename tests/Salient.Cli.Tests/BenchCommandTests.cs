using System.Text.Json;

namespace Salient.Cli.Tests;

public sealed class BenchCommandTests
{
    [Fact]
    public void Forward_with_profile_lists_the_slowest_steps_and_the_time_per_kind()
    {
        var text = Run(["bench", "forward", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--batch", "2", "--size", "32",
            "--warmup", "1", "--iterations", "2", "--profile", "--top", "3"]);

        Assert.Contains("images_per_second", text, StringComparison.Ordinal);
        Assert.Contains("slowest 3 steps:", text, StringComparison.Ordinal);
        // The fixture's residual Adds run inside the convolutions before them.
        Assert.Contains("Conv+Add+Relu", text, StringComparison.Ordinal);
        Assert.Contains("by kind:", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Forward_with_profile_and_json_gives_every_step()
    {
        var line = Run(["bench", "forward", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--batch", "2", "--size", "32",
            "--warmup", "0", "--iterations", "1", "--profile", "--json"]);

        using var json = JsonDocument.Parse(line);
        var steps = json.RootElement.GetProperty("profile").EnumerateArray().ToList();
        Assert.NotEmpty(steps);
        Assert.All(steps, s => Assert.True(s.GetProperty("ms").GetDouble() >= 0));
        Assert.Contains(steps, s => s.GetProperty("kind").GetString() == "Gemm");
    }

    private static string Run(string[] args)
    {
        var output = new StringWriter();
        var original = Console.Out;
        Console.SetOut(output);
        try
        {
            Assert.Equal(0, Program.Main(args));
        }
        finally
        {
            Console.SetOut(original);
        }

        return output.ToString();
    }
}
