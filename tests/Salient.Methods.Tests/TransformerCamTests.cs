using System.Text.Json;
using Salient.Engine;
using Salient.Engine.IO;

namespace Salient.Methods.Tests;

/// <summary>
/// CAM methods on vision transformers (tests/fixtures/operators): Grad-CAM through pytorch-grad-cam's
/// reshape_transform (ViT tokens with the class token dropped, Swin's channels-last blocks), the
/// default layer of a ViT, and a global average head written as ReduceMean.
/// </summary>
public sealed class TransformerCamTests
{
    private static readonly Lazy<JsonDocument> Manifest = new(() => JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("operators", "manifest.json"))));

    [Theory]
    [InlineData("vit_op13")]
    [InlineData("vit_op17")]
    [InlineData("swin_op13")]
    [InlineData("swin_op17")]
    public void Gradcam_matches_pytorch_grad_cam_with_its_reshape_transform(string name)
    {
        var entry = Manifest.Value.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name).GetProperty("gradcam");
        var layer = entry.GetProperty("layer").GetString()!;
        var isVit = name.StartsWith("vit", StringComparison.Ordinal);
        var options = new ExplainOptions
        {
            Method = "gradcam",
            // The ViT's layer is its default (the last attention's layer norm); Swin's block output is named, channels-last.
            Layers = isVit ? [] : [layer],
            Reshape = isVit ? LayerReshape.Auto : LayerReshape.ChannelsLast,
        };
        var model = Model.Load(Fixtures.Path("operators", name + ".onnx"));
        using var input = Npy.Read(Fixtures.Path("operators", name + ".input.npy"));
        using var expectedRaws = Npy.Read(Fixtures.Path("operators", name + ".gradcam.raw.npy"));
        using var expectedMaps = Npy.Read(Fixtures.Path("operators", name + ".gradcam.map.npy"));
        var targets = entry.GetProperty("targets").EnumerateArray().Select(t => (IReadOnlyList<int>)[t.GetInt32()]).ToList();

        var explainer = Explainer.Create(model, options);
        Assert.Equal([layer], explainer.Layers);
        var results = explainer.Explain(input, TargetSelection.PerImage(targets));
        try
        {
            for (var i = 0; i < results.Count; i++)
            {
                var rawSize = expectedRaws.Length / results.Count;
                var mapSize = expectedMaps.Length / results.Count;
                Assert.Equal(rawSize, results[i].Raw.Length);
                Assert.True(ParityTests.RelativeL2(expectedRaws.Span.Slice(i * rawSize, rawSize), results[i].Raw.Span) <= 1e-3, $"image {i}: raw map differs");
                var worst = 0f;
                for (var k = 0; k < mapSize; k++)
                {
                    worst = Math.Max(worst, Math.Abs(expectedMaps.Span[(i * mapSize) + k] - results[i].Map.Span[k]));
                }

                Assert.True(worst <= 2e-3f, $"image {i}: map differs by up to {worst}");
            }
        }
        finally
        {
            foreach (var result in results)
            {
                result.Dispose();
            }
        }
    }

    [Fact]
    public void A_token_layer_without_a_square_grid_is_refused_naming_the_rule()
    {
        var model = Model.Load(Fixtures.Path("operators", "vit_op13.onnx"));
        var error = Assert.Throws<ArgumentException>(() => Explainer.Create(model, new ExplainOptions { Method = "gradcam", Layers = ["logits-not-a-layer"], Reshape = LayerReshape.None }));
        Assert.Contains("--reshape none", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_mean_over_height_and_width_counts_as_global_pooling_for_cam_and_the_default_layer()
    {
        var model = Model.Load(Fixtures.Path("operators", "meanhead_op13.onnx"));
        using var input = Npy.Read(Fixtures.Path("operators", "meanhead_op13.input.npy"));
        var mean = model.Graph.Nodes.Single(n => n.OpType == "ReduceMean");
        var cam = Explainer.Create(model, new ExplainOptions { Method = "cam" });
        var gradcam = Explainer.Create(model, new ExplainOptions { Method = "gradcam" });
        Assert.Equal([mean.Inputs[0]], cam.Layers);
        Assert.Equal([mean.Inputs[0]], gradcam.Layers);

        // With a mean → Linear head, Grad-CAM's weights are CAM's divided by the H·W positions the mean averages.
        var targets = TargetSelection.PerImage(new List<IReadOnlyList<int>> { new[] { 3 }, new[] { 5 } });
        var a = cam.Explain(input, targets);
        var b = gradcam.Explain(input, targets);
        try
        {
            var positions = model.ShapeOf(mean.Inputs[0], input.Shape).Skip(2).Aggregate(1, (x, y) => x * y);
            for (var i = 0; i < a.Count; i++)
            {
                for (var k = 0; k < a[i].Raw.Length; k++)
                {
                    Assert.True(Math.Abs(a[i].Raw.Span[k] - (b[i].Raw.Span[k] * positions)) <= 1e-4f * Math.Max(1f, Math.Abs(a[i].Raw.Span[k])));
                }
            }
        }
        finally
        {
            foreach (var result in a.Concat(b))
            {
                result.Dispose();
            }
        }
    }
}
