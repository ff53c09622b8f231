using Salient.Engine;
using Salient.Methods.Internal;

namespace Salient.Methods.Metrics;

/// <summary>
/// The model-randomisation sanity check (Adebayo et al. 2018), cascading: the weights of the
/// parameterised layers are randomised from the logits backwards, one more layer at a time, and each
/// map is compared with the original model's by Spearman rank correlation. A method whose maps
/// depend on what the model learned shows the correlation dropping as layers are randomised; one
/// that keeps it high explains the input, not the model.
/// </summary>
public static class SanityCheck
{
    /// <summary>The parameterised layers (Conv, Gemm and MatMul nodes with constant weights), from the logits backwards, by node name.</summary>
    public static IReadOnlyList<string> CascadeLayers(Model model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return [.. WeightedNodes(model).Select(n => n.Name).Reverse()];
    }

    /// <summary>
    /// A copy of <paramref name="model"/> whose first <paramref name="depth"/> cascade layers (see
    /// <see cref="CascadeLayers"/>) have weights and biases drawn from a normal distribution with each
    /// tensor's own mean and standard deviation, seeded by <paramref name="seed"/>.
    /// </summary>
    public static Model Randomized(Model model, int depth, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        var nodes = WeightedNodes(model).Reverse().ToArray();
        ArgumentOutOfRangeException.ThrowIfNegative(depth);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(depth, nodes.Length);
        var random = new Random(seed);
        var replacements = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var node in nodes.Take(depth))
        {
            foreach (var name in node.Inputs.Skip(1).Where(i => model.Graph.Initializers.TryGetValue(i, out var c) && c.Floats is not null))
            {
                var original = model.Graph.Initializers[name].Floats!;
                replacements[name] = Tensor.Wrap(Randomize(original.Span, random), original.Shape);
            }
        }

        return model.WithInitializers(replacements);
    }

    /// <summary>Spearman's rank correlation of two maps of the same size (ties take their mean rank); 0 when either is constant.</summary>
    public static double Correlation(ReadOnlySpan<float> original, ReadOnlySpan<float> randomized) => RankCorrelation.Spearman(original, randomized);

    private static IEnumerable<Engine.Graph.GraphNode> WeightedNodes(Model model) =>
        model.Graph.Nodes.Where(n => n.OpType is "Conv" or "Gemm" or "MatMul" && n.Inputs.Length > 1
            && model.Graph.Initializers.TryGetValue(n.Inputs[1], out var weights) && weights.Floats is not null);

    private static float[] Randomize(ReadOnlySpan<float> values, Random random)
    {
        var mean = values.Length == 0 ? 0 : System.Numerics.Tensors.TensorPrimitives.Sum(values) / values.Length;
        var variance = 0.0;
        foreach (var v in values)
        {
            variance += (v - mean) * (v - mean);
        }

        var deviation = (float)Math.Sqrt(variance / Math.Max(1, values.Length));
        var result = new float[values.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = mean + (deviation * MapMath.Gaussian(random));
        }

        return result;
    }
}
