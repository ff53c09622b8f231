using Salient.Engine;
using Salient.Engine.IO;
using static Salient.Tests.TinyModels;

namespace Salient.Methods.Tests;

/// <summary>
/// Shapley-CAM's Hessian-vector product: exact by J·A alone where the network is piecewise linear after
/// the layer (its parity with PyTorch's second-order autograd is in <see cref="ParityTests"/>); after a
/// smooth tail it adds the engine's second-order pass, checked here against PyTorch's autograd on
/// smooth_gate and smooth_block (tests/fixtures/models/make_smooth.py); a tail with a step that has no
/// second-order rule is refused when the explainer is created, naming the node.
/// </summary>
public sealed class ShapleyCamTests
{
    // smooth_gate: Tanh, a Sigmoid gate times its input, average pool, Gemm, Tanh, Gemm and Softmax after the
    // layer. smooth_block: a ConvNeXt block after its stem convolution (depthwise Conv, the exported LayerNorm
    // and Erf-GELU patterns, which the record fuses into one step each, Linear layers, a residual Add), then a
    // global mean, LayerNorm and Linear head.
    [Theory]
    [InlineData("smooth_gate", "Tanh")]
    [InlineData("smooth_block", "Conv")]
    public void After_a_smooth_tail_the_raw_maps_match_pytorchs_second_order_autograd(string name, string layerOperator)
    {
        var model = Model.Load(Fixtures.Path("models", name + ".onnx"));
        using var input = Npy.Read(Fixtures.Path("models", name + ".input.npy"));
        using var expected = Npy.Read(Fixtures.Path("models", name + ".shapleycam.npy"));
        var layer = model.Graph.Nodes.First(n => n.OpType == layerOperator).Outputs[0];
        int[][] targets = [[3, 7], [1, 5]];
        var options = new ExplainOptions { Method = "shapleycam", Layers = [layer] };
        var results = Explainer.Create(model, options).Explain(input, TargetSelection.PerImage(targets.Select(t => (IReadOnlyList<int>)t).ToList()));
        try
        {
            Assert.Equal(4, results.Count);
            var size = expected.Length / 4;
            for (var i = 0; i < 4; i++)
            {
                Assert.Equal(targets[i / 2][i % 2], results[i].Class);
                var reference = expected.Span.Slice(i * size, size);
                var raw = results[i].Raw.Span;
                Assert.Equal(size, raw.Length);
                double error = 0, norm = 0;
                for (var k = 0; k < size; k++)
                {
                    error += Math.Pow(raw[k] - reference[k], 2);
                    norm += Math.Pow(reference[k], 2);
                }

                // The parity tests' raw tolerance, relative L2 within 1e-3 (measured 4e-7 against float64 PyTorch).
                Assert.True(Math.Sqrt(error / norm) <= 1e-3, $"{name} image {i / 2} target {i % 2}: raw relative L2 error {Math.Sqrt(error / norm):g3}");
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
    public void A_tail_with_a_step_without_a_second_order_rule_is_refused_when_the_explainer_is_created()
    {
        // A convolution, then an operator registered from outside the engine that has no second-order rule.
        var model = Load("shapley-gap", [1, 1, 4, 4],
            [Node("Conv", ["x", "w"], "c", Ints("pads", 1, 1, 1, 1)), Node(NoSecondOrderOp, ["c"], "d"), Node("GlobalAveragePool", ["d"], "p"), Node("Flatten", ["p"], "y")],
            [Floats("w", [2, 1, 3, 3], [.. Enumerable.Range(0, 18).Select(i => (i % 5) - 2f)])], "y");

        var error = Assert.Throws<ModelException>(() => Explainer.Create(model, new ExplainOptions { Method = "shapleycam", Layers = ["c"] }));
        Assert.Contains("shapleycam at layer 'c'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{NoSecondOrderOp} node 'd'", error.Message, StringComparison.Ordinal);
        Assert.Contains("no second-order", error.Message, StringComparison.Ordinal);

        // Grad-CAM needs no second-order pass there.
        Assert.NotNull(Explainer.Create(model, new ExplainOptions { Method = "gradcam", Layers = ["c"] }));
    }

    private const string NoSecondOrderOp = "SalientShapleyTestNoSecondOrder";

    static ShapleyCamTests() => CubeOperator.Register(NoSecondOrderOp);
}
