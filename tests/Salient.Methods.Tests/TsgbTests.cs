using Salient.Engine;
using Salient.Methods.Internal;
using static Salient.Tests.TinyModels;

namespace Salient.Methods.Tests;

/// <summary>TSGB's rules against a hand-checked example and the relevance identities of its ratio rules (docs/methods.md, "TSGB").</summary>
public sealed class TsgbTests
{
    [Fact]
    public void Conv_rule_reproduces_the_worked_example()
    {
        // Conv C=1 → O=2, 2×2 kernels, stride 1, no padding, on a 3×3 input; Flatten so the seed is g.
        var model = Load("tsgb-conv", [1, 1, 3, 3],
            [Node("Conv", ["x", "w", "b"], "z", Ints("kernel_shape", 2, 2)), Node("Flatten", ["z"], "y")],
            [Floats("w", [2, 1, 2, 2], 1, 0, 0, 1, 0, -1, 1, 0), Floats("b", [2], 0, 0.5f)], "y");
        using var x = Tensor.FromSpan([1, -2, 0, 3, 1, -1, 0, 2, 1], [1, 1, 3, 3]);
        var seed = Tensor.FromSpan([1, 0, .5f, 1, 0, 1, 1, 0], [1, 8]);

        using var record = model.RecordForward(x, ["x"], []);
        var gradients = model.Backward(record, seed, ["x"], new TsgbRules(null));
        using var gx = gradients["x"];

        float[] expected = [.285714f, -.660714f, 0, .619048f, 1.394048f, -.775f, 0, .733333f, .4f];
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], gx.Span[i], 1e-5f);
        }

        // Relevance is conserved: Σ x⊙g_x = Σ_o g⊙z = 7.5.
        var relevance = 0f;
        for (var i = 0; i < expected.Length; i++)
        {
            relevance += x.Span[i] * gx.Span[i];
        }

        Assert.Equal(7.5f, relevance, 1e-4f);
    }

    [Fact]
    public void Fc_rule_reproduces_the_worked_example_and_cancels_relevance()
    {
        var model = Load("tsgb-fc", [1, 4],
            [Node("Gemm", ["x", "w"], "y", Int("transB", 1))],
            [Floats("w", [2, 4], .5f, -1, .25f, -.5f, 1, 1, -1, 0)], "y");
        using var x = Tensor.FromSpan([1, 0, 2, 3], [1, 4]);
        var seed = Tensor.FromSpan([1, 0], [1, 2]);

        using var record = model.RecordForward(x, ["x"], []);
        var gradients = model.Backward(record, seed, ["x"], new TsgbRules(model.Graph.Nodes[0]));
        using var gx = gradients["x"];

        float[] expected = [.5f, -2f / 3, .25f, -1f / 3];
        var relevance = 0f;
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], gx.Span[i], 1e-5f);
            relevance += x.Span[i] * gx.Span[i];
        }

        Assert.Equal(0f, relevance, 1e-5f);
    }
}
