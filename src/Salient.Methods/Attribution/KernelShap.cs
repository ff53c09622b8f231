using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Attribution;

/// <summary>
/// Kernel SHAP over grid features (Lundberg and Lee, NeurIPS 2017): `samples` coalitions, the size k
/// drawn with probability ∝ (n − 1)/(k(n − k)) for k in 1..n−1 (the Shapley kernel) and the members
/// uniformly; the least-squares fit of y(coalition) − y(baseline) on the membership vector under the
/// exact constraint Σ φ = y(x) − y(baseline) (one φ eliminated, the normal equations solved with a
/// 1e-9 ridge). Converges to the Shapley values; Captum's KernelShap instead weights the empty and full
/// coalitions by 100 in an unconstrained fit.
/// </summary>
internal sealed class KernelShap : PerturbationExplainer
{
    private readonly int _cell;
    private readonly int _samples;
    private readonly float _baseline;

    public KernelShap(Model model, ExplainOptions options)
        : base(model, options)
    {
        _cell = WholeParameter("cell", 1);
        _samples = WholeParameter("samples", 1);
        _baseline = (float)Parameter("baseline");
    }

    protected override Tensor[] Attribute(Tensor image, ReadOnlySpan<float> logits, IReadOnlyList<int> targets)
    {
        var (channels, height, width) = (image.Dim(0), image.Dim(1), image.Dim(2));
        var cells = GridFeatures.Cells(height, width, _cell);
        var n = cells.Length;
        var coalitions = Coalitions(n);

        // Copy 0: all features at the baseline; copy 1 + i: coalition i.
        var pixels = image.Memory;
        var scores = TargetScores(image, 1 + _samples, (i, copy) =>
            GridFeatures.Fill(pixels.Span, copy, height, width, cells, f => i > 0 && coalitions[i - 1][f], _baseline), targets);

        // With φ_n = total − Σ_{j<n} φ_j: y_i − z_in·total = Σ_{j<n} (z_ij − z_in) φ_j.
        var m = n - 1;
        var design = new double[_samples, m];
        for (var i = 0; i < _samples; i++)
        {
            for (var j = 0; j < m; j++)
            {
                design[i, j] = (coalitions[i][j] ? 1 : 0) - (coalitions[i][m] ? 1 : 0);
            }
        }

        var normal = new double[m, m];
        for (var a = 0; a < m; a++)
        {
            for (var b = 0; b < m; b++)
            {
                var sum = a == b ? 1e-9 : 0;
                for (var i = 0; i < _samples; i++)
                {
                    sum += design[i, a] * design[i, b];
                }

                normal[a, b] = sum;
            }
        }

        var full = new double[targets.Count];
        for (var t = 0; t < full.Length; t++)
        {
            full[t] = logits[targets[t]];
        }

        return [.. targets.Select((_, t) =>
        {
            var empty = (double)scores[0][t];
            var total = full[t] - empty;
            var right = new double[m];
            for (var i = 0; i < _samples; i++)
            {
                var y = scores[1 + i][t] - empty - (coalitions[i][m] ? total : 0);
                for (var j = 0; j < m; j++)
                {
                    right[j] += design[i, j] * y;
                }
            }

            // One feature alone carries the whole drop (there is nothing to fit).
            var head = m == 0 ? [] : LinearSolve.Cholesky((double[,])normal.Clone(), right);
            var values = new double[n];
            head.CopyTo(values, 0);
            values[m] = total - head.Sum();
            return GridFeatures.Spread(values, cells, channels, height, width);
        })];
    }

    /// <summary>The sampled coalitions, membership per feature, from the seeded generator.</summary>
    private bool[][] Coalitions(int n)
    {
        var cumulative = new double[n - 1];
        var mass = 0.0;
        for (var k = 1; k < n; k++)
        {
            mass += (n - 1.0) / (k * (n - k));
            cumulative[k - 1] = mass;
        }

        var random = new Random(Options.Seed);
        var coalitions = new bool[_samples][];
        var members = new int[n];
        for (var i = 0; i < _samples; i++)
        {
            var u = random.NextDouble() * mass;
            var size = 1;
            while (size < n - 1 && cumulative[size - 1] < u)
            {
                size++;
            }

            // The first `size` entries of a partial Fisher–Yates shuffle.
            for (var f = 0; f < n; f++)
            {
                members[f] = f;
            }

            coalitions[i] = new bool[n];
            for (var k = 0; k < size; k++)
            {
                var pick = random.Next(k, n);
                (members[k], members[pick]) = (members[pick], members[k]);
                coalitions[i][members[k]] = true;
            }
        }

        return coalitions;
    }
}
