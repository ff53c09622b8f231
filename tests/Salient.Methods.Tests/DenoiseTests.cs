using Salient.Engine;
using Salient.Engine.IO;
using Salient.Engine.Kernels;

namespace Salient.Methods.Tests;

/// <summary>Gradient truncation of shallow-layer CAMs (docs/methods.md, "Denoising shallow-layer CAMs").</summary>
public sealed class DenoiseTests
{
    private const string Shallow = "/layer2/layer2.0/relu_1/Relu_output_0";

    [Fact]
    public void Rectify_on_layercam_and_floor_with_q_0_both_reproduce_plain_layercam_up_to_normalisation()
    {
        var model = Model.Load(Fixtures.Path("models", "resnet_basic.onnx"));
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var rectify = Explain(model, pair, DenoiseMode.Rectify, 0.7f);
        var floor0 = Explain(model, pair, DenoiseMode.Floor, 0f);
        var plain = Explainer.Create(model, new ExplainOptions { Method = "layercam", Layers = [Shallow] }).Explain(pair, TargetSelection.Top1);
        for (var i = 0; i < plain.Count; i++)
        {
            ExplainerTests.AssertClose(plain[i].Raw.Span, rectify[i].Raw.Span, 1e-6f);
            ExplainerTests.AssertClose(rectify[i].Map.Span, floor0[i].Map.Span, 1e-6f);

            // Different normalisation order (max+1e-5 then minmax) only: the maps agree closely.
            ExplainerTests.AssertClose(plain[i].Map.Span, rectify[i].Map.Span, 1e-3f);
        }
    }

    [Fact]
    public void Floor_keeps_about_1_minus_q_of_the_positive_gradients_and_leaves_negatives()
    {
        var random = new Random(3);
        var g = Enumerable.Range(0, 1000).Select(_ => random.NextSingle() - 0.3f).ToArray();
        var positives = g.Count(v => v > 0);
        var truncated = (float[])g.Clone();
        KernelBackends.Host.TruncatePositives(QuantileTruncation.Floor, 0.7f, 1, truncated);
        var kept = truncated.Count(v => v > 0);
        Assert.InRange(kept, (int)(0.29 * positives), (int)(0.31 * positives) + 1);
        Assert.All(Enumerable.Range(0, g.Length).Where(i => g[i] <= 0), i => Assert.Equal(g[i], truncated[i]));

        // τ as numpy's quantile of the positive values: every kept value is at least τ, every dropped one below it.
        var sorted = g.Where(v => v > 0).Order().ToArray();
        var position = 0.7f * (sorted.Length - 1);
        var lower = (int)position;
        var tau = sorted[lower] + ((sorted[Math.Min(lower + 1, sorted.Length - 1)] - sorted[lower]) * (position - lower));
        Assert.All(Enumerable.Range(0, g.Length).Where(i => g[i] > 0), i => Assert.Equal(g[i] >= tau ? g[i] : 0f, truncated[i]));

        var ceiling = (float[])g.Clone();
        KernelBackends.Host.TruncatePositives(QuantileTruncation.Ceil, 0.9f, 1, ceiling);
        Assert.All(Enumerable.Range(0, g.Length), i => Assert.True(ceiling[i] <= g[i]));
    }

    [Fact]
    public void All_negative_gradients_are_left_as_they_are_and_segments_truncate_apart()
    {
        var g = new float[] { -1, -2, -0.5f };
        KernelBackends.Host.TruncatePositives(QuantileTruncation.Floor, 0.7f, 1, g);
        Assert.Equal([-1f, -2f, -0.5f], g);

        // Two segments: the first's τ (median of 1, 2, 3) is 2, the second's (of 10, 20, 30) 20.
        var two = new float[] { 1, 2, 3, -1, 10, 20, 30, -1 };
        KernelBackends.Host.TruncatePositives(QuantileTruncation.Floor, 0.5f, 2, two);
        Assert.Equal([0f, 2, 3, -1, 0, 20, 30, -1], two);
    }

    private static IReadOnlyList<Explanation> Explain(Model model, Tensor batch, DenoiseMode mode, float q) =>
        Explainer.Create(model, new ExplainOptions { Method = "layercam", Layers = [Shallow], Denoise = mode, DenoiseQuantile = q }).Explain(batch, TargetSelection.Top1);
}
