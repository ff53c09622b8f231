using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Attribution;

/// <summary>
/// LIME over grid features (Ribeiro et al., KDD 2016, as the lime package's image explainer fits it):
/// sample 0 is the image itself, the other `samples` − 1 keep each feature with probability ½ (the
/// others at the baseline); each sample is weighted by sqrt(exp(−d²/width²)), d the cosine distance of
/// its membership vector z from all-ones (1 − sqrt(|z|/n); 1 when empty); the attribution is the
/// coefficient vector of a weighted ridge fit with intercept of the target's logit on z
/// (centred by the weighted means, (Zcᵀ W Zc + ridge·I) φ = Zcᵀ W yc).
/// </summary>
internal sealed class Lime : PerturbationExplainer
{
    private readonly int _cell;
    private readonly int _samples;
    private readonly float _baseline;
    private readonly double _width;
    private readonly double _ridge;

    public Lime(Model model, ExplainOptions options)
        : base(model, options)
    {
        _cell = WholeParameter("cell", 1);
        _samples = WholeParameter("samples", 2);
        _baseline = (float)Parameter("baseline");
        _width = ParameterIn("kernel-width", double.Epsilon, double.MaxValue);
        _ridge = ParameterIn("ridge", 0, double.MaxValue);
    }

    protected override Tensor[] Attribute(Tensor image, ReadOnlySpan<float> logits, IReadOnlyList<int> targets)
    {
        var (channels, height, width) = (image.Dim(0), image.Dim(1), image.Dim(2));
        var cells = GridFeatures.Cells(height, width, _cell);
        var n = cells.Length;
        var random = new Random(Options.Seed);
        var z = new bool[_samples][];
        var weights = new double[_samples];
        for (var i = 0; i < _samples; i++)
        {
            z[i] = new bool[n];
            var kept = 0;
            for (var f = 0; f < n; f++)
            {
                z[i][f] = i == 0 || random.NextDouble() < 0.5;
                kept += z[i][f] ? 1 : 0;
            }

            var distance = kept == 0 ? 1 : 1 - Math.Sqrt((double)kept / n);
            weights[i] = Math.Sqrt(Math.Exp(-distance * distance / (_width * _width)));
        }

        // Copy i − 1 is sample i; sample 0 is the image, whose logits the unperturbed pass gave.
        var pixels = image.Memory;
        var scores = TargetScores(image, _samples - 1, (i, copy) => GridFeatures.Fill(pixels.Span, copy, height, width, cells, f => z[i + 1][f], _baseline), targets);
        var full = new double[targets.Count];
        for (var t = 0; t < full.Length; t++)
        {
            full[t] = logits[targets[t]];
        }

        // Weighted centring of the design.
        var weightSum = weights.Sum();
        var means = new double[n];
        for (var i = 0; i < _samples; i++)
        {
            for (var f = 0; f < n; f++)
            {
                means[f] += z[i][f] ? weights[i] / weightSum : 0;
            }
        }

        var centred = new double[_samples, n];
        for (var i = 0; i < _samples; i++)
        {
            for (var f = 0; f < n; f++)
            {
                centred[i, f] = (z[i][f] ? 1 : 0) - means[f];
            }
        }

        var normal = new double[n, n];
        for (var a = 0; a < n; a++)
        {
            for (var b = a; b < n; b++)
            {
                var sum = a == b ? _ridge : 0;
                for (var i = 0; i < _samples; i++)
                {
                    sum += weights[i] * centred[i, a] * centred[i, b];
                }

                normal[a, b] = normal[b, a] = sum;
            }
        }

        return [.. targets.Select((_, t) =>
        {
            var y = new double[_samples];
            for (var i = 0; i < _samples; i++)
            {
                y[i] = i == 0 ? full[t] : scores[i - 1][t];
            }

            var mean = y.Select((v, i) => v * weights[i]).Sum() / weightSum;
            var right = new double[n];
            for (var i = 0; i < _samples; i++)
            {
                for (var f = 0; f < n; f++)
                {
                    right[f] += weights[i] * centred[i, f] * (y[i] - mean);
                }
            }

            return GridFeatures.Spread(LinearSolve.Cholesky((double[,])normal.Clone(), right), cells, channels, height, width);
        })];
    }
}
