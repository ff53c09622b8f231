using Salient.Engine;
using Salient.Engine.IO;

namespace Salient.Methods.Tests;

/// <summary>Behaviour every method shares: batches, targets, bad options.</summary>
public sealed class ExplainerTests
{
    private static readonly Lazy<Model> ResNet = new(() => Model.Load(Fixtures.Path("models", "resnet_basic.onnx")));

    public static TheoryData<string> Methods => [.. Explainer.MethodNames];

    [Theory]
    [MemberData(nameof(Methods))]
    public void An_images_map_is_the_same_alone_and_in_a_batch_of_16_with_other_targets(string method)
    {
        var model = ResNet.Value;
        // Sampling methods with few samples: the property holds for any count.
        var cheap = ExplanationMethods.Find(method).Parameters.Where(p => p.Name is "masks" or "samples" or "permutations").ToDictionary(p => p.Name, _ => 8.0);
        var explainer = Explainer.Create(model, new ExplainOptions { Method = method, InnerBatch = 16, IntegrationSteps = 4, SmoothSamples = method is "smoothgrad-sq" or "vargrad" ? 2 : 0, Parameters = cheap });
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var size = pair.Length / 2;

        // 16 images: the pair repeated, odd rows scaled so they differ, each asking for classes 2 and 7.
        using var batch = Tensor.Uninitialized(16, 3, 32, 32);
        for (var i = 0; i < 16; i++)
        {
            var row = batch.Span.Slice(i * size, size);
            pair.Span.Slice(i % 2 * size, size).CopyTo(row);
            if (i % 4 >= 2)
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(row, 0.5f, row);
            }
        }

        using var single = Tensor.FromSpan(pair.Span[..size], 1, 3, 32, 32);
        var alone = explainer.Explain(single, TargetSelection.Classes(7));
        var together = explainer.Explain(batch, TargetSelection.Classes(2, 7));
        try
        {
            Assert.Single(alone);
            Assert.Equal(32, together.Count);
            var match = together.Single(e => e.Image == 0 && e.Class == 7);
            AssertClose(alone[0].Map.Span, match.Map.Span, 1e-4f);
            AssertClose(alone[0].Raw.Span, match.Raw.Span, 1e-4f);

            // Every image gets a real attribution, not only the first (peers' guided backprop and TSGB do only image 0).
            // A CAM may legitimately be empty after its ReLU, so only the input-gradient methods are held to this.
            Assert.All(together.Where(_ => method is "gradient" or "gradxinput" or "guided-backprop" or "integrated-gradients" or "tsgb" or "deconvolution" or "gradientshap" or "smoothgrad-sq" or "vargrad"), e => Assert.True(System.Numerics.Tensors.TensorPrimitives.Max(e.Map.Span) > 0f, $"image {e.Image} class {e.Class} has an empty map"));
            Assert.All(together, e => Assert.Equal([32, 32], e.Map.ShapeArray()));
        }
        finally
        {
            foreach (var e in alone.Concat(together))
            {
                e.Dispose();
            }
        }
    }

    [Fact]
    public void Top_k_targets_come_best_first_with_their_scores()
    {
        var explainer = Explainer.Create(ResNet.Value, new ExplainOptions { Method = "gradcam" });
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        using var logits = ResNet.Value.Forward(pair);
        var results = explainer.Explain(pair, TargetSelection.Parse("topk:3"));
        try
        {
            Assert.Equal(6, results.Count);
            var first = results.Where(r => r.Image == 0).ToList();
            Assert.Equal(first.Select(r => r.Logit).OrderDescending(), first.Select(r => r.Logit));
            Assert.Equal(logits.Span[..10].ToArray().Max(), first[0].Logit);
            Assert.InRange(first[0].Probability, 0.1f, 1f);
        }
        finally
        {
            foreach (var r in results)
            {
                r.Dispose();
            }
        }
    }

    [Fact]
    public void An_unknown_method_lists_the_valid_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => Explainer.Create(ResNet.Value, new ExplainOptions { Method = "gradcram" }));
        Assert.Contains("gradcram", e.Message, StringComparison.Ordinal);
        Assert.Contains("gradcam++", e.Message, StringComparison.Ordinal);
        Assert.Contains("tsgb", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_layer_lists_the_valid_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => Explainer.Create(ResNet.Value, new ExplainOptions { Method = "gradcam", Layers = ["layer9"] }));
        Assert.Contains("'layer9'", e.Message, StringComparison.Ordinal);
        Assert.Contains("/layer3/layer3.0/relu_1/Relu_output_0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cam_on_a_model_without_a_gap_linear_head_says_why()
    {
        var vgg = Model.Load(Fixtures.Path("models", "vgg_bn.onnx"));
        var e = Assert.Throws<ArgumentException>(() => Explainer.Create(vgg, new ExplainOptions { Method = "cam" }));
        Assert.Contains("GlobalAveragePool", e.Message, StringComparison.Ordinal);
        Assert.Contains("gradcam", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_clusters_old_topN_form_is_read_with_a_deprecation_note()
    {
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        using var logits = ResNet.Value.Forward(pair);
        var row = logits.Span[..10];
        Assert.Equal(TargetSelection.Parse("topk:3").ClassesFor(0, row), TargetSelection.Parse("top3").ClassesFor(0, row));
        Assert.Contains("topk:3", TargetSelection.DeprecationOf("top3"), StringComparison.Ordinal);
        Assert.Null(TargetSelection.DeprecationOf("top1"));
        Assert.Null(TargetSelection.DeprecationOf("topk:3"));
        Assert.Null(TargetSelection.DeprecationOf("class:2"));
    }

    [Fact]
    public void Targets_parse_and_reject_bad_text()
    {
        Assert.Throws<FormatException>(() => TargetSelection.Parse("top0"));
        Assert.Throws<FormatException>(() => TargetSelection.Parse("best2"));
        Assert.Throws<FormatException>(() => TargetSelection.Parse("class:x"));
        Assert.Throws<FormatException>(() => TargetSelection.Parse("topk:0"));
        var explainer = Explainer.Create(ResNet.Value, new ExplainOptions { Method = "gradient" });
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        Assert.Throws<ArgumentException>(() => explainer.Explain(pair, TargetSelection.Classes(10)));
    }

    [Fact]
    public void Smoothgrad_without_noise_is_the_plain_method_and_with_noise_is_seeded()
    {
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var plain = Explainer.Create(ResNet.Value, new ExplainOptions { Method = "gradxinput" }).Explain(pair, TargetSelection.Top1);
        var silent = Explainer.Create(ResNet.Value, new ExplainOptions { Method = "gradxinput", SmoothSamples = 3, SmoothNoise = 0 }).Explain(pair, TargetSelection.Top1);
        var noisy = Explainer.Create(ResNet.Value, new ExplainOptions { Method = "gradxinput", SmoothSamples = 3, Seed = 5 }).Explain(pair, TargetSelection.Top1);
        var again = Explainer.Create(ResNet.Value, new ExplainOptions { Method = "gradxinput", SmoothSamples = 3, Seed = 5 }).Explain(pair, TargetSelection.Top1);
        for (var i = 0; i < plain.Count; i++)
        {
            AssertClose(plain[i].Raw.Span, silent[i].Raw.Span, 1e-5f);
            Assert.Equal(noisy[i].Raw.Span.ToArray(), again[i].Raw.Span.ToArray());
            Assert.NotEqual(plain[i].Raw.Span.ToArray(), noisy[i].Raw.Span.ToArray());
        }
    }

    internal static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1f, Math.Abs(expected[i])), $"element {i}: {expected[i]} vs {actual[i]}");
        }
    }
}
