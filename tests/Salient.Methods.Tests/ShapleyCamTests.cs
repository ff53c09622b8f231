using Salient.Engine;
using Salient.Engine.IO;

namespace Salient.Methods.Tests;

/// <summary>
/// Shapley-CAM's Hessian-vector product: exact by J·A alone where the network is piecewise linear after
/// the layer (its parity with PyTorch's second-order autograd is in <see cref="ParityTests"/>); after a
/// smooth tail it adds the engine's second-order pass, checked here against PyTorch's autograd on
/// smooth_gate (tests/fixtures/models/make_smooth.py); a tail with a step that has no second-order rule
/// fails naming the node.
/// </summary>
public sealed class ShapleyCamTests
{
    [Fact]
    public void After_a_smooth_tail_the_raw_maps_match_pytorchs_second_order_autograd()
    {
        // Tanh, a Sigmoid gate times its input, average pool, Gemm, Tanh, Gemm and Softmax after the layer.
        var model = Model.Load(Fixtures.Path("models", "smooth_gate.onnx"));
        using var input = Npy.Read(Fixtures.Path("models", "smooth_gate.input.npy"));
        using var expected = Npy.Read(Fixtures.Path("models", "smooth_gate.shapleycam.npy"));
        var layer = model.Graph.Nodes.First(n => n.OpType == "Tanh").Outputs[0];
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
                Assert.True(Math.Sqrt(error / norm) <= 1e-3, $"image {i / 2} target {i % 2}: raw relative L2 error {Math.Sqrt(error / norm):g3}");
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
    public void A_tail_with_a_step_without_a_second_order_rule_is_refused_naming_the_node()
    {
        // ConvNeXt blocks: layer norms and Erf-GELUs after the default layer.
        var model = Model.Load(Fixtures.Path("operators", "convnext_op13.onnx"));
        using var input = Npy.Read(Fixtures.Path("operators", "convnext_op13.input.npy"));
        var explainer = Explainer.Create(model, new ExplainOptions { Method = "shapleycam" });
        var error = Assert.Throws<ModelException>(() => explainer.Explain(input, TargetSelection.Top1));
        Assert.Contains("node '", error.Message, StringComparison.Ordinal);
        Assert.Contains("no second-order", error.Message, StringComparison.Ordinal);
    }
}
