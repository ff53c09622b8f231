using Salient.Engine;
using Salient.Engine.IO;
using Salient.Methods.Metrics;

namespace Salient.Methods.Tests.Metrics;

/// <summary>Cascading weight randomisation on the fixture models, and the rank correlation it reports.</summary>
public sealed class SanityCheckTests
{
    [Fact]
    public void Spearman_uses_average_ranks_for_ties()
    {
        Assert.Equal(1.0, SanityCheck.Correlation([1, 5, 3], [10, 50, 30]), 12);
        Assert.Equal(-1.0, SanityCheck.Correlation([1, 2, 3, 4], [4, 3, 2, 1]), 12);
        Assert.Equal(3 / Math.Sqrt(10), SanityCheck.Correlation([1, 2, 2, 3], [1, 2, 3, 4]), 12); // scipy.stats.spearmanr
        Assert.Equal(0.0, SanityCheck.Correlation([1, 1, 1], [1, 2, 3]));
    }

    [Fact]
    public void Randomisation_goes_from_the_logits_backwards_and_leaves_the_original_alone()
    {
        var model = Model.Load(Fixtures.Path("models", "vgg_bn.onnx"));
        using var input = Npy.Read(Fixtures.Path("models", "vgg_bn.input.npy"));
        using var before = model.Forward(input);
        var layers = SanityCheck.CascadeLayers(model);

        using var none = SanityCheck.Randomized(model, 0).Forward(input);
        using var all = SanityCheck.Randomized(model, layers.Count, seed: 1).Forward(input);
        using var after = model.Forward(input);

        Assert.True(layers.Count >= 3);
        Assert.Equal(model.Graph.Nodes.Last(n => n.OpType is "Gemm" or "MatMul").Name, layers[0]);
        Assert.Equal(model.Graph.Nodes.First(n => n.OpType == "Conv").Name, layers[^1]);
        Assert.Equal(before.Span.ToArray(), none.Span.ToArray());
        Assert.Equal(before.Span.ToArray(), after.Span.ToArray());
        Assert.NotEqual(before.Span.ToArray(), all.Span.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => SanityCheck.Randomized(model, layers.Count + 1));
    }

    [Fact]
    public void Grad_cam_maps_decorrelate_as_the_cascade_randomises_the_resnet()
    {
        var model = Model.Load(Fixtures.Path("models", "resnet_basic.onnx"));
        using var input = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var evaluator = new MetricEvaluator(model, [new ExplainOptions { Method = "gradcam" }], new MetricOptions { Metrics = ["sanity"], SanitySteps = 3 });
        var accumulator = new MetricAccumulator();

        var results = evaluator.Evaluate(input, [new EvaluationItem("a", []), new EvaluationItem("b", [])], accumulator);

        Assert.All(results, r => Assert.Null(r.Error));
        var curve = accumulator.Summarize("gradcam").Curves["sanity"];
        Assert.Equal(evaluator.SanityFractions, curve.X);
        Assert.Equal(4, curve.X.Count);
        Assert.Equal(1.0, curve.Mean[0]);
        Assert.True(curve.Mean[^1] < 0.5, $"correlation with every layer randomised: {curve.Mean[^1]}");
        Assert.Equal(curve.Mean[^1], accumulator.Summarize("gradcam").Scalars["sanity"].Mean, 9);
    }
}
