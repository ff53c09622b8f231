using System.Text.Json;
using Salient.Engine;
using Salient.Engine.IO;
using Salient.Imaging;
using Salient.Methods.Pipeline;

namespace Salient.Methods.Tests;

/// <summary>
/// Weighted-sum targets (<c>weights:A=W[,B=W...]</c>, S = Σ w_i·y_i) and contrast targets, their special case
/// (<c>contrast:A,B[,C...]</c>, S = y_A − mean(y_B, y_C, ...)): seeded on the logits of every method that
/// backpropagates a score; backward passes are linear in their seed, so plain gradients and Grad-CAM of the
/// sum are the weighted sums of the classes' own. Their outputs are named apart from the plain class's.
/// </summary>
public sealed class ContrastTargetTests
{
    private static readonly Lazy<Model> ResNet = new(() => Model.Load(Fixtures.Path("models", "resnet_basic.onnx")));

    [Theory]
    [InlineData("gradient")]
    [InlineData("gradcam")]
    public void A_weighted_target_is_the_weighted_sum_of_the_classes_own_explanations(string method)
    {
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var explainer = Explainer.Create(ResNet.Value, new ExplainOptions { Method = method });
        var plain = explainer.Explain(pair, TargetSelection.Classes(3, 5, 7));
        var contrast = explainer.Explain(pair, TargetSelection.Parse("contrast:3,5,7"));
        var weighted = explainer.Explain(pair, TargetSelection.Parse("weights:3=1,5=-0.25,7=2"));
        try
        {
            foreach (var (results, weights) in new[] { (contrast, new[] { 1, -0.5, -0.5 }), (weighted, new[] { 1, -0.25, 2 }) })
            {
                Assert.Equal([3, 3], results.Select(e => e.Class));
                for (var image = 0; image < 2; image++)
                {
                    var raws = plain.Where(e => e.Image == image).Select(e => e.Raw.Span.ToArray()).ToArray();
                    var expected = raws[0].Select((_, i) => (float)((weights[0] * raws[0][i]) + (weights[1] * raws[1][i]) + (weights[2] * raws[2][i]))).ToArray();
                    var error = ParityTests.RelativeL2(expected, results[image].Raw.Span);
                    Assert.True(error < 1e-4, $"image {image}: relative L2 {error} from the weighted sum of the classes' raw maps");
                    Assert.Equal(plain.First(e => e.Image == image).Logit, results[image].Logit);
                }
            }
        }
        finally
        {
            foreach (var e in contrast.Concat(weighted).Concat(plain))
            {
                e.Dispose();
            }
        }
    }

    [Fact]
    public void Contrasts_parse_in_the_shared_syntax_and_reject_bad_text()
    {
        Assert.Equal([2], TargetSelection.Parse("contrast:2,9").ClassesFor(0, new float[10]));
        Assert.Throws<FormatException>(() => TargetSelection.Parse("contrast:2"));
        Assert.Throws<FormatException>(() => TargetSelection.Parse("contrast:2,2"));
        Assert.Throws<FormatException>(() => TargetSelection.Parse("contrast:2,x"));
        Assert.Throws<ArgumentException>(() => TargetSelection.Parse("contrast:2,10").ClassesFor(0, new float[10]));

        // A job submission reads the same syntax.
        var options = PipelineOptions.Parse(new PipelineText(["gradcam"], "contrast:2,9"), f => f, []);
        Assert.Equal([2], options.FixedTargets!.ClassesFor(0, new float[10]));
    }

    [Fact]
    public void Weighted_targets_parse_in_the_shared_syntax()
    {
        var selection = TargetSelection.Parse("weights:4=0.5,1=-1.5e0,8=2");
        Assert.Equal([4], selection.ClassesFor(0, new float[10]));
        Assert.Equal("weights:4=0.5,1=-1.5,8=2", selection.ScoreText(0));
        Assert.Equal("w4x0.5_1x-1.5_8x2", selection.OutputName(0, 4));
        Assert.Equal("contrast:2,9,3", TargetSelection.Contrast(2, 9, 3).ScoreText(0));
        Assert.Equal("c2-vs-9_3", TargetSelection.Contrast(2, 9, 3).OutputName(0, 2));
        Assert.Equal("c2", TargetSelection.Classes(2).OutputName(0, 2));
        Assert.Null(TargetSelection.Classes(2).ScoreText(0));
        Assert.Throws<ArgumentException>(() => TargetSelection.Parse("weights:2=1,10=1").ClassesFor(0, new float[10]));
        Assert.Throws<ArgumentException>(() => TargetSelection.Weighted((2, 1), (2, -1)));
    }

    [Theory]
    [InlineData("weights:", "'' is not CLASS=WEIGHT")]
    [InlineData("weights:3", "'3' is not CLASS=WEIGHT")]
    [InlineData("weights:3=1,x=2", "'x=2' is not CLASS=WEIGHT")]
    [InlineData("weights:3=1,-5=2", "'-5=2' is not CLASS=WEIGHT")]
    [InlineData("weights:3=1,5=half", "'half' is not a number (the weight of class 5)")]
    [InlineData("weights:3=1,5=0", "the weight of class 5 must be a finite non-zero number, not 0.")]
    [InlineData("weights:3=NaN", "the weight of class 3 must be a finite non-zero number")]
    [InlineData("weights:3=1,3=2", "class 3 is listed twice.")]
    [InlineData("weights:3=-1,5=1", "the first class (3) is the one explained")]
    public void A_bad_weighted_target_is_refused_naming_the_field(string text, string problem)
    {
        var error = Assert.Throws<ArgumentException>(() => PipelineOptions.Parse(new PipelineText(["gradcam"], text), f => "--" + f, []));
        Assert.StartsWith($"--targets: Target '{text}': ", error.Message, StringComparison.Ordinal);
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Plain_contrast_and_weighted_targets_of_one_item_get_their_own_files_and_records()
    {
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var card = ModelCard.Default(3, 32, 32);
        var size = pair.Length / pair.Dim(0);
        using var batch = InputBatch.Load(card, 3, (tensor, i) => pair.Span[..size].CopyTo(tensor.Span.Slice(i * size, size)));
        var pipeline = new ExplainPipeline(ResNet.Value, card, [new ExplainOptions { Method = "gradient" }], RenderOptions.Create(["npy"]));
        string[] targets = ["class:3", "contrast:3,5,7", "weights:3=1,5=-0.5"];

        var explained = pipeline.Explain(batch, ["a.png", "a.png", "a.png"], [.. targets.Select(TargetSelection.Parse)]);

        Assert.Equal(
            ["items/a.png/gradient-c3.npy", "items/a.png/gradient-c3-vs-5_7.npy", "items/a.png/gradient-w3x1_5x-0.5.npy"],
            explained.Records.Select(r => r.Outputs!["map"]));
        Assert.Equal(6, explained.Files.Select(f => f.Path).Distinct().Count());
        Assert.All(explained.Records, r => Assert.Equal(3, r.Class));
        Assert.Equal([null, "contrast:3,5,7", "weights:3=1,5=-0.5"], explained.Records.Select(r => r.Target));
        using var plain = JsonDocument.Parse(explained.Records[0].ToJsonLine());
        Assert.False(plain.RootElement.TryGetProperty("target", out _));
        using var contrast = JsonDocument.Parse(explained.Records[1].ToJsonLine());
        Assert.Equal("contrast:3,5,7", contrast.RootElement.GetProperty("target").GetString());
    }

    [Theory]
    [InlineData("scorecam")]
    [InlineData("occlusion")]
    [InlineData("dff")]
    [InlineData("finercam")]
    [InlineData("shapleycam")]
    public void A_method_that_does_not_backpropagate_the_target_score_refuses_contrast_and_weighted_targets(string method)
    {
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var explainer = Explainer.Create(ResNet.Value, new ExplainOptions { Method = method });
        foreach (var target in new[] { TargetSelection.Contrast(1, 2), TargetSelection.Weighted((1, 1), (2, 0.5)) })
        {
            var error = Assert.Throws<ArgumentException>(() => explainer.Explain(pair, target));
            Assert.EndsWith($"do; not '{method}'.", error.Message, StringComparison.Ordinal);
            Assert.Contains("gradcam, gradcam++", error.Message, StringComparison.Ordinal);
        }

        // A run (a CLI command, a job submission) is refused before it starts, naming the field.
        var refused = Assert.Throws<ArgumentException>(() => PipelineOptions.Parse(new PipelineText(["gradient", method], "weights:1=1,2=0.5"), f => f, []));
        Assert.StartsWith("targets: 'weights:1=1,2=0.5': contrast and weighted-sum targets", refused.Message, StringComparison.Ordinal);
        Assert.EndsWith($"not '{method}'.", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_method_registered_for_weighted_targets_explains_one()
    {
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var target = TargetSelection.Parse("weights:3=1,5=-0.5,7=0.25");
        var methods = Explainer.MethodNames.Where(m => ExplanationMethods.Find(m).Accepts.HasFlag(MethodOptions.WeightedTargets)).ToArray();
        Assert.Equal(23, methods.Length);
        foreach (var method in methods)
        {
            // The fewest noisy copies, samples and steps: the test is that the seed goes through, not the maps' quality.
            var registered = ExplanationMethods.Find(method);
            var options = new ExplainOptions
            {
                Method = method,
                IntegrationSteps = 2,
                SmoothSamples = registered.Accepts.HasFlag(MethodOptions.Smooth) ? 2 : 0,
                Parameters = registered.Parameters.Any(p => p.Name == "samples") ? new Dictionary<string, double> { ["samples"] = 2 } : new Dictionary<string, double>(),
            };
            var results = Explainer.Create(ResNet.Value, options).Explain(pair, target);
            try
            {
                Assert.Equal([3, 3], results.Select(e => e.Class));
                Assert.All(results, e => Assert.True(e.IsFinite, $"{method}: a map that is not finite"));
            }
            finally
            {
                foreach (var e in results)
                {
                    e.Dispose();
                }
            }
        }
    }

    [Fact]
    public void Gradcam_against_the_nearest_classes_is_finercam()
    {
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var finer = Explainer.Create(ResNet.Value, new ExplainOptions { Method = "finercam" }).Explain(pair, TargetSelection.Top(2));
        var gradcam = Explainer.Create(ResNet.Value, new ExplainOptions { Method = "gradcam" }).Explain(pair, TargetSelection.AgainstNearest(TargetSelection.Top(2), 1, 3));
        try
        {
            Assert.Equal(finer.Select(e => e.Class), gradcam.Select(e => e.Class));
            for (var i = 0; i < finer.Count; i++)
            {
                Assert.Equal(finer[i].Raw.Span.ToArray(), gradcam[i].Raw.Span.ToArray());
            }
        }
        finally
        {
            foreach (var e in finer.Concat(gradcam))
            {
                e.Dispose();
            }
        }
    }
}
