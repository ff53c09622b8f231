using Salient.Engine.Graph;
using Salient.Engine.IO;
using Salient.Engine.Kernels.Cpu;

namespace Salient.Engine.Tests.Onnx;

/// <summary>Logits of every committed fixture model equal PyTorch's (tests/fixtures/models/make_models.py).</summary>
public sealed class ModelParityTests
{
    public static TheoryData<string> ModelNames =>
    [
        "vgg_bn", "resnet_basic", "resnet_bottleneck", "mobilenetv2", "mobilenetv2_opset11",
        "mobilenetv2_opset10", "densenet", "ops_mix", "resnet_basic_external",
    ];

    [Theory]
    [MemberData(nameof(ModelNames))]
    public void Logits_match_pytorch(string name)
    {
        var model = Model.Load(Fixtures.Path("models", name + ".onnx"));
        AssertMatchesPyTorch(model, name);
    }

    [Theory]
    [InlineData("resnet_bottleneck")]
    [InlineData("mobilenetv2")]
    public void Logits_match_pytorch_with_the_managed_gemm(string name)
    {
        var model = Model.Load(Fixtures.Path("models", name + ".onnx"), new CpuBackend(GemmProvider.Managed));
        AssertMatchesPyTorch(model, name);
    }

    [Fact]
    public void A_batch_gives_each_image_the_logits_it_gets_alone()
    {
        var model = Model.Load(Fixtures.Path("models", "resnet_basic.onnx"));
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        using var all = model.Forward(batch);
        var imageSize = batch.Length / batch.Dim(0);
        for (var i = 0; i < batch.Dim(0); i++)
        {
            using var single = Tensor.FromSpan(batch.Span.Slice(i * imageSize, imageSize), [1, .. batch.Shape[1..]]);
            using var logits = model.Forward(single);
            AssertClose(all.Span.Slice(i * logits.Length, logits.Length), logits.Span, 1e-5f);
        }
    }

    [Fact]
    public void Observed_intermediate_values_are_returned_by_their_onnx_names()
    {
        var model = Model.Load(Fixtures.Path("models", "resnet_basic.onnx"));
        using var input = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var layer = model.ValueNames.Last(v => model.ShapeOf(v, input.Shape).Count == 4);
        var results = model.Forward(input, [layer]);
        try
        {
            Assert.Equal(model.ShapeOf(layer, input.Shape), results[layer].ShapeArray());
            using var plain = model.Forward(input);
            AssertClose(plain.Span, results[model.OutputNames[0]].Span, 0f);
        }
        finally
        {
            foreach (var t in results.Values)
            {
                t.Dispose();
            }
        }
    }

    [Theory]
    [InlineData("resnet_basic")]
    [InlineData("resnet_bottleneck")]
    public void Batch_norms_and_residual_adds_fold_into_the_convolutions_before_them(string name)
    {
        var model = Model.Load(Fixtures.Path("models", name + ".onnx"));
        using var input = Npy.Read(Fixtures.Path("models", name + ".input.npy"));
        var adds = model.Graph.Nodes.Count(n => n.OpType == "Add");
        var steps = model.PlannedSteps(input.Shape);
        var residual = steps.Where(s => s.Kind == StepKind.Convolution && s.Label.Contains("+Add", StringComparison.Ordinal)).ToList();
        Assert.Equal(adds, residual.Count);
        Assert.DoesNotContain(steps, s => s.Node.OpType is "Add" or "BatchNormalization");

        // Fused, the logits match PyTorch (Logits_match_pytorch); observing each residual keeps its Add
        // fused but makes the convolution copy it instead of overwriting it, with the same logits.
        using var logits = model.Forward(input);
        var skips = residual.Select(s => s.Inputs[^1]).ToArray();
        var results = model.Forward(input, skips);
        try
        {
            AssertClose(logits.Span, results[model.OutputNames[0]].Span, 0f);
        }
        finally
        {
            foreach (var t in results.Values)
            {
                t.Dispose();
            }
        }
    }

    [Fact]
    public void A_forward_profile_times_every_step_of_the_plan_and_names_what_was_fused()
    {
        var model = Model.Load(Fixtures.Path("models", "resnet_bottleneck.onnx"));
        using var input = Npy.Read(Fixtures.Path("models", "resnet_bottleneck.input.npy"));
        var planned = model.PlannedSteps(input.Shape);

        var steps = model.ProfileForward(input, passes: 2);

        Assert.Equal(planned.Select(s => s.Outputs[0]), steps.Select(s => s.Output));
        Assert.All(steps, s => Assert.True(s.Elapsed >= TimeSpan.Zero));
        Assert.Contains(steps, s => s.Kind == "Conv+BatchNormalization+Add+Relu");
        Assert.Equal(model.ShapeOf(steps[^1].Output, input.Shape), steps[^1].Shape);
    }

    private static void AssertMatchesPyTorch(Model model, string name)
    {
        using var input = Npy.Read(Fixtures.Path("models", name + ".input.npy"));
        using var expected = Npy.Read(Fixtures.Path("models", name + ".logits.npy"));
        using var logits = model.Forward(input);
        Assert.Equal(expected.ShapeArray(), logits.ShapeArray());
        AssertClose(expected.Span, logits.Span, 1e-4f);
    }

    /// <summary>|a - b| ≤ tolerance · max(1, |a|) elementwise.</summary>
    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var bound = tolerance * Math.Max(1f, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= bound, $"element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }
}
