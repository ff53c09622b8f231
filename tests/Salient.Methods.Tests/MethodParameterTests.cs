using Salient.Engine;
using Salient.Engine.IO;

namespace Salient.Methods.Tests;

/// <summary>Method parameters (<see cref="ExplainOptions.Parameters"/>) and properties of the perturbation methods that hold exactly.</summary>
public sealed class MethodParameterTests
{
    private static readonly Lazy<Model> ResNet = new(() => Model.Load(Fixtures.Path("models", "resnet_basic.onnx")));

    [Fact]
    public void An_unknown_parameter_lists_the_methods_parameters()
    {
        var e = Assert.Throws<ArgumentException>(() => Explainer.Create(ResNet.Value, new ExplainOptions { Method = "occlusion", Parameters = new Dictionary<string, double> { ["windw"] = 4 } }));
        Assert.Contains("'windw'", e.Message, StringComparison.Ordinal);
        Assert.Contains("stride", e.Message, StringComparison.Ordinal);
        e = Assert.Throws<ArgumentException>(() => Explainer.Create(ResNet.Value, new ExplainOptions { Method = "gradcam", Parameters = new Dictionary<string, double> { ["k"] = 4 } }));
        Assert.Contains("takes no parameters", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("occlusion", "stride", 20.0)]
    [InlineData("occlusion", "window", 2.5)]
    [InlineData("rise", "p", 0.0)]
    [InlineData("gradientshap", "samples", 0.0)]
    [InlineData("feature-ablation", "cell", -1.0)]
    public void A_parameter_out_of_range_is_refused_by_name(string method, string name, double value)
    {
        var e = Assert.Throws<ArgumentException>(() => Explainer.Create(ResNet.Value, new ExplainOptions { Method = method, Parameters = new Dictionary<string, double> { [name] = value } }));
        Assert.Contains(name, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("occlusion", "window")]
    [InlineData("feature-ablation", "cell")]
    public void One_region_covering_the_image_credits_every_pixel_with_the_drop_to_the_baseline(string method, string size)
    {
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        using var baseline = Tensor.Zeros(pair.Shape);
        System.Numerics.Tensors.TensorPrimitives.Add(baseline.Span, 0.25f, baseline.Span);
        using var clean = ResNet.Value.Forward(pair);
        using var ablated = ResNet.Value.Forward(baseline);
        var parameters = new Dictionary<string, double> { [size] = 32, ["baseline"] = 0.25 };
        if (method == "occlusion")
        {
            parameters["stride"] = 32;
        }

        var results = Explainer.Create(ResNet.Value, new ExplainOptions { Method = method, Parameters = parameters }).Explain(pair, TargetSelection.Classes(1, 6));
        try
        {
            foreach (var r in results)
            {
                var drop = clean.Span[(r.Image * 10) + r.Class] - ablated.Span[(r.Image * 10) + r.Class];
                Assert.Equal([3, 32, 32], r.Raw.ShapeArray());
                Assert.All(r.Raw.Span.ToArray(), v => Assert.Equal(drop, v, 1e-5f));
            }
        }
        finally
        {
            foreach (var r in results)
            {
                r.Dispose();
            }
        }
    }

    [Theory]
    [InlineData("shapley-sampling", "permutations")]
    [InlineData("kernelshap", "samples")]
    public void Shapley_estimates_sum_to_the_drop_to_the_baseline_for_any_sample_count(string method, string count)
    {
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        using var baseline = Tensor.Zeros(pair.Shape);
        using var clean = ResNet.Value.Forward(pair);
        using var ablated = ResNet.Value.Forward(baseline);

        // cell 11 on 32×32: 3×3 features with top-left corners at 0, 11 and 22.
        var options = new ExplainOptions { Method = method, Seed = 3, Parameters = new Dictionary<string, double> { ["cell"] = 11, [count] = 5 } };
        var results = Explainer.Create(ResNet.Value, options).Explain(pair, TargetSelection.Classes(2, 8));
        try
        {
            foreach (var r in results)
            {
                var sum = 0.0;
                foreach (var y in new[] { 0, 11, 22 })
                {
                    foreach (var x in new[] { 0, 11, 22 })
                    {
                        sum += r.Raw.Span[(y * 32) + x];
                    }
                }

                var drop = clean.Span[(r.Image * 10) + r.Class] - ablated.Span[(r.Image * 10) + r.Class];
                Assert.Equal(drop, sum, 1e-4);
            }
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
    public void Perturbation_methods_report_progress_per_forward_pass()
    {
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var reports = new List<(long Done, long Total)>();
        var options = new ExplainOptions
        {
            Method = "rise",
            InnerBatch = 10,
            Parameters = new Dictionary<string, double> { ["masks"] = 25, ["cell"] = 8 },
            Progress = (done, total) => reports.Add((done, total)),
        };
        foreach (var r in Explainer.Create(ResNet.Value, options).Explain(pair, TargetSelection.Top1))
        {
            r.Dispose();
        }

        Assert.Equal([(10L, 25L), (20L, 25L), (25L, 25L), (10L, 25L), (20L, 25L), (25L, 25L)], reports);
    }
}
