using Salient.Client;
using Salient.Cluster.Coordinator;

namespace Salient.Cluster.Tests;

/// <summary>The coordinator's checks of a submission's inline items, before any shard exists.</summary>
public sealed class SubmissionValidationTests
{
    private static readonly JobSubmission Explain = new() { Model = "resnet", Inputs = new JobInputs(Items: ["datasets/a.png", "datasets/b.jpg"]) };

    [Fact]
    public void Valid_blob_names_pass()
    {
        Assert.Null(CoordinatorApi.Validate(Explain));
    }

    [Theory]
    [InlineData("../poison.jpg", "inputs.items[1]: Blob name '../poison.jpg' is not allowed: segment '..' would leave")]
    [InlineData("datasets/./a.png", "inputs.items[1]: Blob name 'datasets/./a.png' is not allowed: segment '.'")]
    [InlineData("/etc/passwd", "inputs.items[1]: Blob name '/etc/passwd' is not allowed: it starts with '/'")]
    [InlineData("a//b.png", "inputs.items[1]: Blob name 'a//b.png' is not allowed: it has an empty segment")]
    [InlineData("a\\b.png", "inputs.items[1]: Blob name 'a\\b.png' is not allowed: it contains a backslash")]
    [InlineData(" ", "inputs.items[1]: item names must not be empty.")]
    public void A_bad_item_is_refused_by_its_index_and_name(string item, string expected)
    {
        var problem = CoordinatorApi.Validate(Explain with { Inputs = new JobInputs(Items: ["datasets/a.png", item]) });
        Assert.StartsWith(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Inline_lists_are_capped_and_the_error_points_to_manifests()
    {
        var items = Enumerable.Range(0, CoordinatorApi.MaxInlineItems + 1).Select(i => $"d/{i}.png").ToArray();
        var problem = CoordinatorApi.Validate(Explain with { Inputs = new JobInputs(Items: items) });
        Assert.StartsWith($"inputs.items: {items.Length} items; a request lists at most {CoordinatorApi.MaxInlineItems} inline.", problem, StringComparison.Ordinal);
        Assert.Contains("inputs.manifest", problem, StringComparison.Ordinal);
        Assert.Null(CoordinatorApi.Validate(Explain with { Inputs = new JobInputs(Items: items[..^1]) }));
    }

    [Fact]
    public void Methods_targets_and_parameters_are_read_by_the_cli_s_parser()
    {
        // The older topN is accepted (the coordinator stores topk:N and answers with a Warning header).
        Assert.Null(CoordinatorApi.Validate(Explain with { Targets = "top3" }));
        Assert.Null(CoordinatorApi.Validate(Explain with { Methods = ["occlusion"], Parameters = new Dictionary<string, double> { ["window"] = 16 }, Seed = 3, DenoiseQuantile = 0.5f }));
        Assert.StartsWith("targets: Target 'best'", CoordinatorApi.Validate(Explain with { Targets = "best" }), StringComparison.Ordinal);
        Assert.StartsWith("methods: unknown method 'magic'", CoordinatorApi.Validate(Explain with { Methods = ["magic"] }), StringComparison.Ordinal);
        Assert.StartsWith("parameters: none of gradcam has a parameter 'window'",
            CoordinatorApi.Validate(Explain with { Parameters = new Dictionary<string, double> { ["window"] = 16 } }), StringComparison.Ordinal);
        Assert.Equal("denoise_quantile: 2 is not in (0, 1).", CoordinatorApi.Validate(Explain with { DenoiseQuantile = 2 }));
    }

    [Fact]
    public void Pwla_sample_blobs_are_checked_as_names_and_expressions_are_not()
    {
        var pwla = new JobSubmission { Kind = "pwla", Inputs = new JobInputs(Items: ["x / 2", "data/s.csv"]), Pwla = new PwlaSpec(2, Interval: [0, 1]) };
        Assert.Null(CoordinatorApi.Validate(pwla));
        Assert.StartsWith("inputs.items[1]: Blob name '../s.csv'", CoordinatorApi.Validate(pwla with { Inputs = new JobInputs(Items: ["x / 2", "../s.csv"]) }), StringComparison.Ordinal);
    }
}
