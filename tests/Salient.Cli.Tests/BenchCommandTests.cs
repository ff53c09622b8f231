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
        // The fixture's batch norms and residual Adds run inside the convolutions before them.
        Assert.Contains("Conv+BatchNormalization+Add+Relu", text, StringComparison.Ordinal);
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

    [Fact]
    public void Train_times_training_steps_of_a_built_architecture_and_refuses_an_unknown_one()
    {
        var line = Run(["bench", "train", "--arch", "small-cnn", "--size", "16", "--batch", "4", "--warmup", "1", "--iterations", "2", "--json"]);

        using var json = JsonDocument.Parse(line);
        Assert.True(json.RootElement.GetProperty("images_per_second").GetDouble() > 0);
        Assert.Equal("4x3x16x16", json.RootElement.GetProperty("input").GetString());

        var (exit, _, error) = Cli.Run("bench", "train", "--arch", "vgg-huge");
        Assert.Equal(1, exit);
        Assert.Contains("vgg-huge", error, StringComparison.Ordinal);
    }

    private static string Run(string[] args)
    {
        var (exit, output, _) = Cli.Run(args);
        Assert.Equal(0, exit);
        return output;
    }
}
