using Salient.Engine;
using Salient.Engine.Graph;
using Salient.Engine.IO;
using Salient.Engine.Onnx.Protos;
using Salient.Methods.Internal;
using static Salient.Tests.TinyModels;

namespace Salient.Methods.Tests;

/// <summary>
/// LRP's relevance rules where no PyTorch reference covers them (residual Adds): with ε → 0 and the
/// plain weights, relevance propagation through ReLUs, batch norms, convolutions, Adds and the pool is
/// gradient × input; and every rule conserves relevance layer by layer. Parity with Captum's rules on a
/// network without Adds is in <see cref="ParityTests"/>.
/// </summary>
public sealed class LrpTests
{
    [Fact]
    public void Epsilon_lrp_on_a_residual_relu_network_is_gradient_times_input()
    {
        var model = Model.Load(Fixtures.Path("models", "resnet_basic.onnx"));
        using var input = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var lrp = Explainer.Create(model, new ExplainOptions { Method = "lrp" }).Explain(input, TargetSelection.Classes(0, 3));
        var reference = Explainer.Create(model, new ExplainOptions { Method = "gradxinput" }).Explain(input, TargetSelection.Classes(0, 3));
        try
        {
            Assert.Equal(reference.Count, lrp.Count);
            for (var i = 0; i < lrp.Count; i++)
            {
                var error = ParityTests.RelativeL2(reference[i].Raw.Span, lrp[i].Raw.Span);
                Assert.True(error < 1e-4, $"explanation {i}: relative L2 {error} from gradient × input");
            }
        }
        finally
        {
            foreach (var result in lrp.Concat(reference))
            {
                result.Dispose();
            }
        }
    }

    /// <summary>
    /// Conservation, Σ_i R_i = y_t at every cut of the graph (a value every path from the input to the logits passes
    /// through: the input, each layer outside the residual block, the block's output), for the ε, γ and α-β
    /// (α = 2, β = 1) rules, on a small residual network. What the rules let leave a layer is kept out: the network
    /// has no biases (a bias takes its share of the relevance: in z under ε and γ, b⁺ in z⁺ and b⁻ in z⁻ under α-β),
    /// and every output of an α-β layer has contributions of both signs: its LeakyReLUs leave no input at 0 and its layers
    /// read 16 to 144 inputs (an output with contributions of one sign only, as after a ReLU that zeroes every input on
    /// its negative weights, passes α·R or −β·R on: docs/methods.md). Tolerance 1e-5 of |y_t|: the layers compute in
    /// float32 (sums of up to 144 products per output, 1 024 values per image), and ε = 1e-9 against pre-activations of
    /// order 0.1 moves a layer's relevance by about 1e-8 of it; the largest deviation seen is 1.9e-6 (γ rule, at the input).
    /// </summary>
    [Theory]
    [InlineData(LrpWeightRule.Epsilon)]
    [InlineData(LrpWeightRule.Gamma)]
    [InlineData(LrpWeightRule.AlphaBeta)]
    public void Every_rule_conserves_relevance_layer_by_layer(LrpWeightRule rule)
    {
        var model = ResidualLeakyNetwork();
        using var input = Tensor.Wrap(Normal(new Random(7), 2 * 3 * 8 * 8), 2, 3, 8, 8);
        var (relevance, scores) = RelevanceAtCuts(model, input, new LrpRules(rule, 1e-9f, model.InputName, gamma: 0.25f, alpha: 2f, beta: 1f), 1);

        Assert.Equal(["x", "c1", "a1", "s", "a3", "p", "g", "f", "y"], relevance.Keys);
        AssertConserved(relevance, scores, 1, $"{rule}");

        if (rule == LrpWeightRule.AlphaBeta)
        {
            // The check can fail: with α − β = 2 the linear layer doubles the relevance it passes on.
            var (doubled, _) = RelevanceAtCuts(model, input, new LrpRules(rule, 1e-9f, model.InputName, alpha: 3f, beta: 1f), 1);
            AssertConserved(new Dictionary<string, double[]>(StringComparer.Ordinal) { ["f"] = doubled["f"] }, scores, 2, "α = 3, β = 1");
        }
    }

    private static void AssertConserved(Dictionary<string, double[]> relevance, double[] scores, double factor, string rule)
    {
        var unconserved = relevance.SelectMany(r => Enumerable.Range(0, scores.Length)
            .Where(image => Math.Abs(r.Value[image] - (factor * scores[image])) > 1e-5 * Math.Abs(factor * scores[image]))
            .Select(image => $"image {image}: relevance {r.Value[image]} at {r.Key}, score {scores[image]}")).ToList();
        Assert.True(unconserved.Count == 0, $"{rule}:\n{string.Join('\n', unconserved)}");
    }

    /// <summary>
    /// x [2,3,8,8] → conv 3×3 (16) → LeakyReLU = a1 → conv 3×3 → LeakyReLU → conv 3×3, + a1 → LeakyReLU → max pool 2×2 →
    /// global average pool → linear (4 classes); no biases, weights drawn from a seeded normal (He scale).
    /// </summary>
    private static Model ResidualLeakyNetwork()
    {
        var random = new Random(3);
        return Load("lrp-conservation", [2, 3, 8, 8],
            [
                Node("Conv", ["x", "w1"], "c1", Ints("pads", 1, 1, 1, 1)), Node("LeakyRelu", ["c1"], "a1"),
                Node("Conv", ["a1", "w2"], "c2", Ints("pads", 1, 1, 1, 1)), Node("LeakyRelu", ["c2"], "a2"),
                Node("Conv", ["a2", "w3"], "c3", Ints("pads", 1, 1, 1, 1)), Node("Add", ["c3", "a1"], "s"), Node("LeakyRelu", ["s"], "a3"),
                Node("MaxPool", ["a3"], "p", Ints("kernel_shape", 2, 2), Ints("strides", 2, 2)), Node("GlobalAveragePool", ["p"], "g"),
                Node("Flatten", ["g"], "f"), Node("Gemm", ["f", "w4"], "y", Int("transB", 1)),
            ],
            [Weights(random, "w1", 16, 3, 3, 3), Weights(random, "w2", 16, 16, 3, 3), Weights(random, "w3", 16, 16, 3, 3), Weights(random, "w4", 4, 16)], "y");
    }

    private static TensorProto Weights(Random random, string name, params int[] dims)
    {
        var fanIn = dims.Skip(1).Aggregate(1, (a, b) => a * b);
        return Floats(name, dims, [.. Normal(random, dims.Aggregate(1, (a, b) => a * b)).Select(w => w * MathF.Sqrt(2f / fanIn))]);
    }

    /// <summary>Standard normal draws (Box–Muller).</summary>
    private static float[] Normal(Random random, int count) =>
        [.. Enumerable.Range(0, count).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble())))];

    /// <summary>
    /// Per cut of the graph (<see cref="Cuts"/>), the relevance Σ value ⊙ c per image after one backward pass of
    /// <paramref name="rules"/> seeded at <paramref name="target"/>'s logit; and that logit per image, the relevance put in.
    /// </summary>
    private static (Dictionary<string, double[]> Relevance, double[] Scores) RelevanceAtCuts(Model model, Tensor input, LrpRules rules, int target)
    {
        var cuts = Cuts(model.Graph);
        using var record = model.RecordForward(input, cuts, []);
        var logits = record.Value(model.OutputNames[0]);
        var (images, classes) = (logits.Dim(0), logits.Length / logits.Dim(0));
        var seed = Tensor.Zeros(logits.Shape);
        var scores = new double[images];
        for (var b = 0; b < images; b++)
        {
            seed.Span[(b * classes) + target] = 1f;
            scores[b] = logits.Span[(b * classes) + target];
        }

        var gradients = model.Backward(record, seed, cuts, rules);
        var relevance = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var cut in cuts)
        {
            using var gradient = gradients[cut];
            var value = record.Value(cut);
            var perImage = value.Length / images;
            var sums = new double[images];
            for (var i = 0; i < value.Length; i++)
            {
                sums[i / perImage] += (double)value.Span[i] * gradient.Span[i];
            }

            relevance[cut] = sums;
        }

        return (relevance, scores);
    }

    /// <summary>
    /// The values every path from the input to the output passes through, in graph order: after the node that makes
    /// one, it is the only value made so far that a later node (or the output) still reads.
    /// </summary>
    private static List<string> Cuts(GraphDefinition graph)
    {
        var lastUse = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < graph.Nodes.Count; i++)
        {
            foreach (var name in graph.Nodes[i].Inputs.Where(n => n.Length > 0 && !graph.Initializers.ContainsKey(n)))
            {
                lastUse[name] = i;
            }
        }

        var live = new HashSet<string>(StringComparer.Ordinal) { graph.InputName };
        List<string> cuts = [graph.InputName];
        for (var i = 0; i < graph.Nodes.Count; i++)
        {
            live.RemoveWhere(v => lastUse.GetValueOrDefault(v, -1) == i);
            live.UnionWith(graph.Nodes[i].Outputs);
            if (live.Count == 1)
            {
                cuts.Add(live.Single());
            }
        }

        return cuts;
    }
}
