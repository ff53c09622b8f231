using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Attribution;

/// <summary>
/// Shapley value sampling over grid features (Captum's ShapleyValueSampling; Castro et al., 2009):
/// in each of `permutations` random orders the features are switched from the baseline to the image
/// one by one, each credited with the change of the target's logit; the mean over the orders. The
/// full image's logit is the unperturbed forward pass's, so the features sum to y(x) − y(baseline)
/// exactly for any count.
/// </summary>
internal sealed class ShapleySampling : PerturbationExplainer
{
    private readonly int _cell;
    private readonly int _permutations;
    private readonly float _baseline;

    public ShapleySampling(Model model, ExplainOptions options)
        : base(model, options)
    {
        _cell = WholeParameter("cell", 1);
        _permutations = WholeParameter("permutations", 1);
        _baseline = (float)Parameter("baseline");
    }

    protected override Tensor[] Attribute(Tensor image, ReadOnlySpan<float> logits, IReadOnlyList<int> targets)
    {
        var (channels, height, width) = (image.Dim(0), image.Dim(1), image.Dim(2));
        var cells = GridFeatures.Cells(height, width, _cell);
        var n = cells.Length;
        var random = new Random(Options.Seed);
        var orders = new int[_permutations][];
        var ranks = new int[_permutations][];
        for (var s = 0; s < _permutations; s++)
        {
            orders[s] = [.. Enumerable.Range(0, n)];
            random.Shuffle(orders[s]);
            ranks[s] = new int[n];
            for (var k = 0; k < n; k++)
            {
                ranks[s][orders[s][k]] = k;
            }
        }

        // Copy 0: all features at the baseline; copy 1 + s·(n − 1) + k: the first k + 1 features of order s (k < n − 1).
        var pixels = image.Memory;
        var scores = TargetScores(image, 1 + (_permutations * (n - 1)), (i, copy) =>
        {
            var (s, kept) = i == 0 ? (0, 0) : (((i - 1) / (n - 1)), ((i - 1) % (n - 1)) + 1);
            GridFeatures.Fill(pixels.Span, copy, height, width, cells, f => ranks[s][f] < kept, _baseline);
        }, targets);

        var full = new double[targets.Count];
        for (var t = 0; t < full.Length; t++)
        {
            full[t] = logits[targets[t]];
        }

        return [.. targets.Select((_, t) =>
        {
            var values = new double[n];
            for (var s = 0; s < _permutations; s++)
            {
                var previous = (double)scores[0][t];
                for (var k = 0; k < n; k++)
                {
                    var current = k == n - 1 ? full[t] : scores[1 + (s * (n - 1)) + k][t];
                    values[orders[s][k]] += current - previous;
                    previous = current;
                }
            }

            for (var f = 0; f < n; f++)
            {
                values[f] /= _permutations;
            }

            return GridFeatures.Spread(values, cells, channels, height, width);
        })];
    }
}
