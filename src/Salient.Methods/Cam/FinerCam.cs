using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Cam;

/// <summary>
/// Finer-CAM (Zhang et al., CVPR 2025; pytorch-grad-cam's FinerCAM over Grad-CAM): Grad-CAM of the
/// contrast S = Σ_i p_i (y_t − α·y_i) / (Σ_i p_i + 1e-9) instead of the target's logit y_t, over the
/// <c>comparisons</c> classes whose logits lie nearest y_t (the most similar ones), p = softmax of the
/// logits, differentiated through p as well.
/// </summary>
internal sealed class FinerCam : GradCam
{
    private readonly double _alpha;
    private readonly int _comparisons;

    public FinerCam(Model model, ExplainOptions options)
        : base(model, options)
    {
        _alpha = Parameter("alpha");
        _comparisons = WholeParameter("comparisons", 1);
    }

    private protected override Tensor SeedFor(Tensor logits, IReadOnlyList<int>[] targets, int slot)
    {
        var seed = Tensor.Zeros(logits.Shape);
        var classes = logits.Length / logits.Dim(0);
        for (var b = 0; b < targets.Length; b++)
        {
            if (slot < targets[b].Count)
            {
                Contrast(logits.Span.Slice(b * classes, classes), targets[b][slot], seed.Span.Slice(b * classes, classes));
            }
        }

        return seed;
    }

    /// <summary>∂S/∂y for one image's logits <paramref name="y"/> and target <paramref name="target"/>, written to <paramref name="seed"/>.</summary>
    private void Contrast(ReadOnlySpan<float> y, int target, Span<float> seed)
    {
        var logits = y.ToArray();
        var main = logits[target];
        int[] compared = [.. Enumerable.Range(0, logits.Length).Where(c => c != target).OrderBy(c => Math.Abs(logits[c] - main)).ThenBy(c => c).Take(_comparisons)];
        var max = logits.Max();
        var exp = logits.Select(v => Math.Exp(v - max)).ToArray();
        var total = exp.Sum();
        var p = exp.Select(e => e / total).ToArray();

        // N = Σ p_i (y_t − α y_i), P = Σ p_i; ∂p_i/∂y_j = p_i(1[i=j] − p_j).
        double numerator = 0, weight = 0;
        foreach (var i in compared)
        {
            numerator += p[i] * (main - (_alpha * logits[i]));
            weight += p[i];
        }

        var denominator = weight + 1e-9;
        for (var j = 0; j < logits.Length; j++)
        {
            var dNumerator = -p[j] * numerator;
            var dWeight = -p[j] * weight;
            if (j == target)
            {
                dNumerator += weight;
            }

            if (compared.Contains(j))
            {
                dNumerator += p[j] * (main - (_alpha * logits[j]) - _alpha);
                dWeight += p[j];
            }

            seed[j] = (float)(((dNumerator * denominator) - (numerator * dWeight)) / (denominator * denominator));
        }
    }
}
