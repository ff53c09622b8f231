using Salient.Methods.Pipeline;

namespace Salient.Methods.Tests;

/// <summary>The options parser the CLI and job submissions share: one target syntax, problems named as the caller names its fields.</summary>
public sealed class PipelineOptionsTests
{
    private static readonly Func<string, string> Json = field => field;

    [Fact]
    public void The_old_topN_is_read_as_topk_with_a_note()
    {
        var warnings = new List<string>();
        var options = PipelineOptions.Parse(new PipelineText(["gradcam"], "top3"), Json, warnings);

        Assert.Equal("topk:3", options.Targets);
        Assert.Equal("targets: target 'top3' is deprecated; write 'topk:3' (the form is read until a later release).", Assert.Single(warnings));
        Assert.Empty(Parsed(new PipelineText(["gradcam"], "topk:3")).Warnings);
        Assert.Empty(Parsed(new PipelineText(["gradcam"], "top1")).Warnings);
        Assert.Null(Parsed(new PipelineText(["gradcam"], PipelineOptions.LabelTargets)).Options.FixedTargets);
    }

    [Theory]
    [InlineData("best", "--target: Target 'best' is not one of top1, topk:K, class:I[,J...], contrast:A,B[,C...], weights:A=W[,B=W...].")]
    [InlineData("topk:0", "--target: Target 'topk:0'")]
    public void A_bad_target_is_named_as_the_caller_names_it(string targets, string expected)
    {
        var error = Assert.Throws<ArgumentException>(() => PipelineOptions.Parse(new PipelineText(["gradcam"], targets), f => f == "targets" ? "--target" : f, []));
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Methods_denoising_and_parameters_are_checked()
    {
        Assert.StartsWith("methods: unknown method 'magic'. Valid methods: cam, gradcam", Problem(new PipelineText(["magic"])), StringComparison.Ordinal);
        Assert.Equal("methods: give at least one method.", Problem(new PipelineText([])));
        Assert.Equal("methods: give each method once.", Problem(new PipelineText(["gradcam", "gradcam"])));
        Assert.Equal("denoise: 'sharp' is not floor, ceil, rectify or backprop.", Problem(new PipelineText(["gradcam"], Denoise: "sharp")));
        Assert.Equal("denoise_quantile: 1.5 is not in (0, 1).", Problem(new PipelineText(["gradcam"], DenoiseQuantile: 1.5f)));
        Assert.StartsWith("parameters: none of gradcam has a parameter 'window' ('gradcam' takes no parameters)",
            Problem(new PipelineText(["gradcam"], Parameters: new Dictionary<string, double> { ["window"] = 8 })), StringComparison.Ordinal);
    }

    [Fact]
    public void Each_method_gets_the_shared_options_and_only_its_own_parameters()
    {
        var (options, _) = Parsed(new PipelineText(["occlusion", "gradcam"], "class:1,2", ["layer3"], "floor", 0.6f,
            new Dictionary<string, double> { ["window"] = 16 }, Seed: 7));

        var occlusion = options.ExplainOptionsFor("occlusion");
        Assert.Equal(16, occlusion.Parameters["window"]);
        Assert.Equal((7, 0.6f, DenoiseMode.Floor), (occlusion.Seed, occlusion.DenoiseQuantile, occlusion.Denoise));
        var gradcam = options.ExplainOptionsFor("gradcam");
        Assert.Empty(gradcam.Parameters);
        Assert.Equal(["layer3"], gradcam.Layers);
        Assert.Equal([1, 2], options.FixedTargets!.ClassesFor(0, new float[4]));
    }

    private static (PipelineOptions Options, List<string> Warnings) Parsed(PipelineText text)
    {
        var warnings = new List<string>();
        return (PipelineOptions.Parse(text, Json, warnings), warnings);
    }

    private static string Problem(PipelineText text) => Assert.Throws<ArgumentException>(() => PipelineOptions.Parse(text, Json, [])).Message;
}
