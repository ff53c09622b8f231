using Salient.Engine;
using Salient.Methods.Internal;

namespace Salient.Methods.Metrics;

/// <summary>Which pixels ROAD removes first.</summary>
public enum RoadOrder
{
    /// <summary>MoRF: the most relevant pixels; a faithful map makes the probability drop fast (low is good).</summary>
    MostRelevantFirst,

    /// <summary>LeRF: the least relevant pixels; a faithful map keeps the probability up (high is good).</summary>
    LeastRelevantFirst,
}

/// <summary>
/// ROAD, RemOve And Debias (Rong et al. 2022): for each percentage p, the p% most (MoRF) or least
/// (LeRF) relevant pixels are replaced by noisy linear imputation, which solves for each removed
/// pixel as the weighted mean of its neighbours (a sparse linear system per channel, solved by
/// conjugate gradients) and adds Gaussian noise, so the removal does not leak the mask's shape. The
/// curve is the target's probability (softmax, or sigmoid for multi-label models) at each p.
/// </summary>
public static class Road
{
    /// <summary>The default percentages, 10 to 90 in steps of 10.</summary>
    public static IReadOnlyList<int> DefaultPercentages { get; } = [10, 20, 30, 40, 50, 60, 70, 80, 90];

    /// <summary>
    /// The curve (one probability per percentage) of every explanation of <paramref name="batch"/>
    /// [N,C,H,W], in order. <paramref name="noise"/> is the imputation noise's standard deviation in
    /// input units; the noise is seeded from <paramref name="seed"/> and the image and map contents,
    /// so an item scores the same in any batch. <paramref name="scores"/> reads the probability (default softmax).
    /// </summary>
    public static IReadOnlyList<double[]> Curves(Model model, Tensor batch, IReadOnlyList<Explanation> explanations, RoadOrder order,
        IReadOnlyList<int>? percentages = null, double noise = 0.01, int seed = 0, int innerBatch = 32, ClassScores? scores = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(explanations);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(innerBatch);
        percentages ??= DefaultPercentages;
        if (percentages.Count == 0 || percentages.Any(p => p is < 0 or > 100))
        {
            throw new ArgumentException("ROAD percentages must lie in [0, 100].", nameof(percentages));
        }

        var shape = batch.Shape[1..].ToArray();
        var size = shape[0] * shape[1] * shape[2];
        var plane = shape[1] * shape[2];
        var orders = explanations.Select(e =>
        {
            var descending = MapMath.DescendingOrder(e.Map.Span);
            if (order == RoadOrder.LeastRelevantFirst)
            {
                Array.Reverse(descending);
            }

            return descending;
        }).ToArray();
        var seeds = explanations.Select(e => ContentSeed(seed, batch.Span.Slice(e.Image * size, size), e.Map.Span, e.Class)).ToArray();
        var points = percentages.Count;
        var probabilities = PerturbedForward.Probabilities(model, shape, explanations.Count * points, innerBatch, (i, copy) =>
        {
            var (e, k) = (i / points, i % points);
            batch.Span.Slice(explanations[e].Image * size, size).CopyTo(copy);
            var removed = new bool[plane];
            foreach (var p in orders[e].AsSpan(0, (int)((long)percentages[k] * plane / 100)))
            {
                removed[p] = true;
            }

            NoisyLinearImputer.Impute(copy, shape[1], shape[2], removed, noise, new Random(unchecked(seeds[e] + (k * 7919))));
        }, i => explanations[i / points].Class, scores ?? ClassScores.Softmax);
        return [.. Enumerable.Range(0, explanations.Count).Select(e => probabilities.AsSpan(e * points, points).ToArray())];
    }

    /// <summary>FNV-1a over the image, the map and the class: a seed that follows the item, not its place in a batch.</summary>
    private static int ContentSeed(int seed, ReadOnlySpan<float> image, ReadOnlySpan<float> map, int target)
    {
        var hash = 2166136261u ^ (uint)seed ^ ((uint)target << 16);
        foreach (var v in image)
        {
            hash = (hash ^ (uint)BitConverter.SingleToInt32Bits(v)) * 16777619u;
        }

        foreach (var v in map)
        {
            hash = (hash ^ (uint)BitConverter.SingleToInt32Bits(v)) * 16777619u;
        }

        return (int)hash;
    }
}
