using Salient.Engine;
using Salient.Engine.IO;

namespace Salient.Methods.Tests;

/// <summary>
/// DeepLIFT's completeness (the attributions sum to the target logit's change from the baseline),
/// through ReLUs, ReLU6 (Clip) and max pools; and DeepLIFT-SHAP with noiseless baselines is DeepLIFT.
/// Parity with the PyTorch reference is in <see cref="ParityTests"/> and <see cref="SamplingMethodTests"/>.
/// </summary>
public sealed class DeepLiftTests
{
    [Theory]
    [InlineData("vgg_bn", 0f)]
    [InlineData("resnet_basic", 0.5f)]
    [InlineData("mobilenetv2", -0.25f)]
    public void Attributions_sum_to_the_logit_change_from_the_baseline(string modelName, float baseline)
    {
        var model = Model.Load(Fixtures.Path("models", modelName + ".onnx"));
        using var input = Npy.Read(Fixtures.Path("models", modelName + ".input.npy"));
        using var reference = Tensor.Uninitialized(input.Shape);
        reference.Span.Fill(baseline);
        using var referenceLogits = model.Forward(reference);
        var classes = referenceLogits.Length / referenceLogits.Dim(0);
        var options = new ExplainOptions { Method = "deeplift", Parameters = new Dictionary<string, double> { ["baseline"] = baseline } };
        var results = Explainer.Create(model, options).Explain(input, TargetSelection.Classes(0, 3));
        try
        {
            Assert.Equal(4, results.Count);
            foreach (var result in results)
            {
                var sum = result.Raw.Span.ToArray().Sum(v => (double)v);
                var change = result.Logit - referenceLogits.Span[(result.Image * classes) + result.Class];
                Assert.True(Math.Abs(sum - change) <= 1e-3 * Math.Max(1, Math.Abs(change)),
                    $"image {result.Image} class {result.Class}: attributions sum to {sum}, the logit changed by {change}");
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
    public void Deepliftshap_with_noiseless_baselines_is_deeplift()
    {
        var model = Model.Load(Fixtures.Path("models", "vgg_bn.onnx"));
        using var input = Npy.Read(Fixtures.Path("models", "vgg_bn.input.npy"));
        var single = Explainer.Create(model, new ExplainOptions { Method = "deeplift", Parameters = new Dictionary<string, double> { ["baseline"] = 0.5 } })
            .Explain(input, TargetSelection.Top1);
        var shap = Explainer.Create(model, new ExplainOptions
        {
            Method = "deepliftshap",
            Parameters = new Dictionary<string, double> { ["baseline"] = 0.5, ["stdev"] = 0, ["samples"] = 2 },
        }).Explain(input, TargetSelection.Top1);
        try
        {
            Assert.Equal(single.Count, shap.Count);
            for (var i = 0; i < single.Count; i++)
            {
                Assert.Equal(single[i].Raw.Span.ToArray(), shap[i].Raw.Span.ToArray());
            }
        }
        finally
        {
            foreach (var result in single.Concat(shap))
            {
                result.Dispose();
            }
        }
    }
}
