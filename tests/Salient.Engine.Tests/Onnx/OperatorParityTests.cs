using System.Text.Json;
using Salient.Engine.Graph;
using Salient.Engine.IO;

namespace Salient.Engine.Tests.Onnx;

/// <summary>
/// Outputs and input gradients of small exports that exercise each transformer and modern-CNN
/// operator and pattern (reductions, LayerNorm, GELU, data movement, attention, reduced ViT, Swin
/// and ConvNeXt) equal PyTorch's (tests/fixtures/operators/make_operator_fixtures.py).
/// </summary>
public sealed class OperatorParityTests
{
    private const float Tolerance = 1e-4f;

    private static readonly Lazy<JsonDocument> Manifest = new(() => JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("operators", "manifest.json"))));

    public static TheoryData<string> Cases() => [.. Manifest.Value.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Output_matches_pytorch(string name)
    {
        var model = Model.Load(Fixtures.Path("operators", name + ".onnx"));
        using var input = Npy.Read(Fixtures.Path("operators", name + ".input.npy"));
        using var expected = Npy.Read(Fixtures.Path("operators", name + ".output.npy"));
        using var output = model.Forward(input);
        Assert.Equal(expected.ShapeArray(), output.ShapeArray());
        AssertClose(expected.Span, output.Span, name);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Input_gradient_matches_pytorch(string name)
    {
        var model = Model.Load(Fixtures.Path("operators", name + ".onnx"));
        using var input = Npy.Read(Fixtures.Path("operators", name + ".input.npy"));
        using var expected = Npy.Read(Fixtures.Path("operators", name + ".grad.npy"));
        var cotangent = Npy.Read(Fixtures.Path("operators", name + ".cotangent.npy"));
        foreach (var fuse in new[] { false, true })
        {
            using var record = model.RecordForward(input, [model.InputName], [], fuseInRegion: fuse);
            var gradients = model.Backward(record, cotangent.Clone(), [model.InputName]);
            using var gradient = gradients[model.InputName];
            AssertClose(expected.Span, gradient.Span, $"{name} (fused in region: {fuse})");
        }

        cotangent.Dispose();
    }

    [Theory]
    [InlineData("norms_op13", 2, 0)]
    [InlineData("gelu_op13", 0, 1)]
    [InlineData("convnext_op13", 7, 4)]
    [InlineData("vit_op13", 5, 2)]
    public void Decomposed_layer_norms_and_gelus_run_as_one_step_each(string name, int layerNorms, int gelus)
    {
        var model = Model.Load(Fixtures.Path("operators", name + ".onnx"));
        var steps = model.PlannedSteps([.. model.InputShape.Select(d => Math.Max(d, 1))]);
        Assert.Equal(layerNorms, steps.Count(s => s.Label == "LayerNormalization(fused)"));
        Assert.Equal(gelus, steps.Count(s => s.Label == "Gelu(fused)"));
        Assert.DoesNotContain(steps, s => s.Node.OpType is "Erf" or "Sqrt" or "Pow");
    }

    [Fact]
    public void Swin_attention_masks_and_position_biases_fold_to_constants()
    {
        var model = Model.Load(Fixtures.Path("operators", "swin_op13.onnx"));
        var steps = model.PlannedSteps([.. model.InputShape.Select(d => Math.Max(d, 1))]);
        Assert.DoesNotContain(steps, s => s.Node.OpType is "ScatterND" or "Range" or "Mod" or "Not" or "Equal" or "Where" or "Shape" or "Cast");
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var bound = Tolerance * Math.Max(1f, Math.Abs(expected[i]));
            Assert.True(Math.Abs(expected[i] - actual[i]) <= bound, $"{what}: element {i}: expected {expected[i]}, got {actual[i]}");
        }
    }
}
