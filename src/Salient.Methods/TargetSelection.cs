using System.Globalization;

namespace Salient.Methods;

/// <summary>
/// Which classes of each image to explain: the top-1 class (default), the top K, fixed classes,
/// or a list per image (labels from a manifest); and the score of the logits each is explained by:
/// the class's logit, or a contrast of it with other classes (<see cref="Contrast"/>, <see cref="AgainstNearest"/>),
/// which the methods that backpropagate a score seed with the score's gradient on the logits.
/// </summary>
public abstract class TargetSelection
{
    /// <summary>The highest-scoring class of each image.</summary>
    public static TargetSelection Top1 { get; } = new TopK(1);

    /// <summary>The <paramref name="k"/> highest-scoring classes of each image, best first.</summary>
    public static TargetSelection Top(int k) =>
        k > 0 ? new TopK(k) : throw new ArgumentOutOfRangeException(nameof(k), "topk needs K ≥ 1.");

    /// <summary>The same classes for every image.</summary>
    public static TargetSelection Classes(params int[] classes) => new Fixed(_ => classes);

    /// <summary>Classes per image, in batch order.</summary>
    public static TargetSelection PerImage(IReadOnlyList<IReadOnlyList<int>> classes) => new Fixed(i => classes[i]);

    /// <summary>A selection of its own for each image, in batch order.</summary>
    public static TargetSelection PerImage(IReadOnlyList<TargetSelection> selections) => new Each(selections);

    /// <summary>
    /// Class <paramref name="target"/> against <paramref name="others"/>: the score explained is
    /// y_target − mean(y_others), the same for every image (the syntax's <c>contrast:A,B[,C...]</c>).
    /// </summary>
    public static TargetSelection Contrast(int target, params int[] others)
    {
        ArgumentNullException.ThrowIfNull(others);
        return others.Length > 0 && !others.Contains(target)
            ? new LinearContrast(target, others)
            : throw new ArgumentException($"A contrast needs at least one other class than {target}.", nameof(others));
    }

    /// <summary>
    /// The classes <paramref name="selection"/> picks, each explained against its nearest rivals, as Finer-CAM
    /// does (pytorch-grad-cam's FinerWeightedTarget): S = Σ_i p_i (y_t − α·y_i) / (Σ_i p_i + 1e-9) over the
    /// <paramref name="comparisons"/> classes i whose logits lie nearest y_t, p = softmax of the logits,
    /// differentiated through p as well.
    /// </summary>
    public static TargetSelection AgainstNearest(TargetSelection selection, double alpha, int comparisons)
    {
        ArgumentNullException.ThrowIfNull(selection);
        ArgumentOutOfRangeException.ThrowIfLessThan(comparisons, 1);
        return selection.IsContrast
            ? throw new ArgumentException("The targets already contrast classes; nearest-class contrast applies to plain targets (top1, topk:K, class:I).", nameof(selection))
            : new NearestContrast(selection, alpha, comparisons);
    }

    /// <summary>
    /// The classes <paramref name="selection"/> picks, each explained by the ReST score S = y_t − CE(y, t) = 2·y_t − log Σ_i e^{y_i}
    /// (pytorch-grad-cam's ClassifierOutputReST: the logit and the log-probability together), whose gradient on the logits is 2·e_t − softmax(y).
    /// </summary>
    internal static TargetSelection Rest(TargetSelection selection) => new RestScore(selection);

    /// <summary>The target syntax, as help texts and errors show it.</summary>
    public const string Syntax = "top1, topk:K, class:I[,J...], contrast:A,B[,C...]";

    /// <summary>
    /// Parses the target syntax the CLI and the cluster share: <c>top1</c>, <c>topk:K</c>,
    /// <c>class:I[,J...]</c> or <c>contrast:A,B[,C...]</c> (<see cref="Contrast"/>). The cluster's older
    /// <c>topN</c> is still read (see <see cref="DeprecationOf"/>).
    /// </summary>
    /// <exception cref="FormatException">The text is none of these.</exception>
    public static TargetSelection Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text == "top1")
        {
            return Top1;
        }

        if (text.StartsWith("topk:", StringComparison.Ordinal) && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k > 0)
        {
            return Top(k);
        }

        if (OldTopK(text) is { } old)
        {
            return Top(old);
        }

        if (text.StartsWith("class:", StringComparison.Ordinal))
        {
            return Classes(ClassList(text, text[6..]));
        }

        if (text.StartsWith("contrast:", StringComparison.Ordinal))
        {
            var classes = ClassList(text, text[9..]);
            return classes.Length >= 2 && !classes.AsSpan(1).Contains(classes[0])
                ? Contrast(classes[0], classes[1..])
                : throw new FormatException($"Target '{text}': a contrast is the explained class, then at least one other class (contrast:A,B[,C...]).");
        }

        throw new FormatException($"Target '{text}' is not one of {Syntax}.");
    }

    private static int[] ClassList(string text, string list)
    {
        var parts = list.Split(',');
        var classes = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out classes[i]))
            {
                throw new FormatException($"Target '{text}': '{parts[i]}' is not a class index.");
            }
        }

        return classes;
    }

    /// <summary>A note for a caller to show when <paramref name="text"/> uses the deprecated <c>topN</c> form; null otherwise.</summary>
    public static string? DeprecationOf(string text) =>
        OldTopK(text) is { } k ? $"target '{text}' is deprecated; write 'topk:{k}' (the form is read until a later release)." : null;

    /// <summary>The current form of a target text: the deprecated <c>topN</c> becomes <c>topk:N</c>; any other text is returned as given.</summary>
    public static string Current(string text) => OldTopK(text) is { } k ? $"topk:{k}" : text;

    /// <summary>K of the old <c>topN</c> form (N ≥ 2; <c>top1</c> is current), or null.</summary>
    private static int? OldTopK(string? text) =>
        text is not null && text.StartsWith("top", StringComparison.Ordinal) && !text.StartsWith("topk", StringComparison.Ordinal)
            && int.TryParse(text.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k > 1 ? k : null;

    /// <summary>The classes to explain for image <paramref name="image"/> with these logits.</summary>
    public IReadOnlyList<int> ClassesFor(int image, ReadOnlySpan<float> logits) => Select(image, logits);

    internal abstract IReadOnlyList<int> Select(int image, ReadOnlySpan<float> logits);

    /// <summary>True when a target is explained by another score of the logits than its own logit (a contrast of classes).</summary>
    internal virtual bool IsContrast => false;

    /// <summary>
    /// Writes ∂S/∂y, the gradient of the score explained for class <paramref name="target"/> of image
    /// <paramref name="image"/> with logits <paramref name="logits"/> (empty unless <see cref="IsContrast"/>), into <paramref name="seed"/>
    /// (zeros, one per class): by default S = y_target.
    /// </summary>
    internal virtual void ScoreGradient(int image, ReadOnlySpan<float> logits, int target, Span<float> seed) => seed[target] = 1f;

    /// <summary>These targets' scores for classes chosen already: the classes <paramref name="targets"/> gives per image, scored as this selection scores them.</summary>
    internal TargetSelection Pinned(IReadOnlyList<IReadOnlyList<int>> targets) => new Pin(this, targets);

    /// <summary>The classes, after checking each is one of the model's <paramref name="count"/>.</summary>
    private static IReadOnlyList<int> InRange(IReadOnlyList<int> classes, int count)
    {
        foreach (var c in classes)
        {
            if (c < 0 || c >= count)
            {
                throw new ArgumentException($"Target class {c} is out of range: the model has {count} classes.");
            }
        }

        return classes;
    }

    private sealed class TopK(int k) : TargetSelection
    {
        internal override IReadOnlyList<int> Select(int image, ReadOnlySpan<float> logits)
        {
            var scores = logits.ToArray();
            return [.. Enumerable.Range(0, scores.Length).OrderByDescending(c => scores[c]).ThenBy(c => c).Take(k)];
        }
    }

    private sealed class Each(IReadOnlyList<TargetSelection> selections) : TargetSelection
    {
        internal override bool IsContrast => selections.Any(s => s.IsContrast);

        internal override IReadOnlyList<int> Select(int image, ReadOnlySpan<float> logits) => selections[image].Select(image, logits);

        internal override void ScoreGradient(int image, ReadOnlySpan<float> logits, int target, Span<float> seed) =>
            selections[image].ScoreGradient(image, logits, target, seed);
    }

    private sealed class Pin(TargetSelection scoring, IReadOnlyList<IReadOnlyList<int>> targets) : TargetSelection
    {
        internal override bool IsContrast => scoring.IsContrast;

        internal override IReadOnlyList<int> Select(int image, ReadOnlySpan<float> logits) => targets[image];

        internal override void ScoreGradient(int image, ReadOnlySpan<float> logits, int target, Span<float> seed) =>
            scoring.ScoreGradient(image, logits, target, seed);
    }

    private sealed class LinearContrast(int main, int[] others) : TargetSelection
    {
        internal override bool IsContrast => true;

        internal override IReadOnlyList<int> Select(int image, ReadOnlySpan<float> logits)
        {
            _ = InRange(others, logits.Length);
            return InRange([main], logits.Length);
        }

        internal override void ScoreGradient(int image, ReadOnlySpan<float> logits, int target, Span<float> seed)
        {
            seed[target] = 1f;
            foreach (var other in others)
            {
                seed[other] -= 1f / others.Length;
            }
        }
    }

    private sealed class RestScore(TargetSelection selection) : TargetSelection
    {
        internal override bool IsContrast => true;

        internal override IReadOnlyList<int> Select(int image, ReadOnlySpan<float> logits) => selection.Select(image, logits);

        internal override void ScoreGradient(int image, ReadOnlySpan<float> logits, int target, Span<float> seed)
        {
            var p = ClassScores.Softmax.Probabilities(logits);
            for (var i = 0; i < seed.Length; i++)
            {
                seed[i] = (float)((i == target ? 2 : 0) - p[i]);
            }
        }
    }

    private sealed class NearestContrast(TargetSelection selection, double alpha, int comparisons) : TargetSelection
    {
        internal override bool IsContrast => true;

        internal override IReadOnlyList<int> Select(int image, ReadOnlySpan<float> logits) => selection.Select(image, logits);

        internal override void ScoreGradient(int image, ReadOnlySpan<float> logits, int target, Span<float> seed)
        {
            var y = logits.ToArray();
            var main = y[target];
            int[] compared = [.. Enumerable.Range(0, y.Length).Where(c => c != target).OrderBy(c => Math.Abs(y[c] - main)).ThenBy(c => c).Take(comparisons)];
            var p = ClassScores.Softmax.Probabilities(logits);

            // S = N / (P + 1e-9), N = Σ p_i (y_t − α y_i), P = Σ p_i; ∂p_i/∂y_j = p_i(1[i=j] − p_j).
            double numerator = 0, weight = 0;
            foreach (var i in compared)
            {
                numerator += p[i] * (main - (alpha * y[i]));
                weight += p[i];
            }

            var denominator = weight + 1e-9;
            for (var j = 0; j < y.Length; j++)
            {
                var dNumerator = -p[j] * numerator;
                var dWeight = -p[j] * weight;
                if (j == target)
                {
                    dNumerator += weight;
                }

                if (compared.Contains(j))
                {
                    dNumerator += p[j] * (main - (alpha * y[j]) - alpha);
                    dWeight += p[j];
                }

                seed[j] = (float)(((dNumerator * denominator) - (numerator * dWeight)) / (denominator * denominator));
            }
        }
    }

    private sealed class Fixed(Func<int, IReadOnlyList<int>> classes) : TargetSelection
    {
        internal override IReadOnlyList<int> Select(int image, ReadOnlySpan<float> logits) => InRange(classes(image), logits.Length);
    }
}
