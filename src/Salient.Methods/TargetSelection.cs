using System.Globalization;

namespace Salient.Methods;

/// <summary>
/// Which classes of each image to explain: the top-1 class (default), the top K, fixed classes,
/// or a list per image (labels from a manifest); and the score of the logits each is explained by:
/// the class's logit, or a weighted sum of logits (<see cref="Weighted"/>, of which <see cref="Contrast"/> is one)
/// or another contrast of classes (<see cref="AgainstNearest"/>), which the methods that backpropagate a score
/// seed with the score's gradient on the logits.
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
    /// y_target − mean(y_others), the same for every image (the syntax's <c>contrast:A,B[,C...]</c>):
    /// the weighted sum (<see cref="Weighted"/>) with weight 1 on the target and −1/n on each of the n others.
    /// </summary>
    public static TargetSelection Contrast(int target, params int[] others)
    {
        ArgumentNullException.ThrowIfNull(others);
        return others.Length > 0 && !others.Contains(target)
            ? new WeightedSum(
                [(target, 1.0), .. others.Select(o => (o, -1.0 / others.Length))],
                $"contrast:{target},{string.Join(',', others)}",
                $"c{target}-vs-{string.Join('_', others)}")
            : throw new ArgumentException($"A contrast needs at least one other class than {target}.", nameof(others));
    }

    /// <summary>
    /// The weighted sum of logits S = Σ_i w_i·y_i, the same for every image (the syntax's <c>weights:A=W[,B=W...]</c>).
    /// The first class is the one explained: the explanation's class, logit and probability are its own, so its
    /// weight must be positive; every weight is finite and non-zero, and each class appears once.
    /// </summary>
    public static TargetSelection Weighted(params (int Class, double Weight)[] terms)
    {
        ArgumentNullException.ThrowIfNull(terms);
        return WeightsProblem(terms) is { } problem ? throw new ArgumentException($"Weighted target: {problem}", nameof(terms)) : WeightedSum.Of(terms);
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
            ? throw new ArgumentException("The targets already weigh classes (contrast or weights); nearest-class contrast applies to plain targets (top1, topk:K, class:I).", nameof(selection))
            : new NearestContrast(selection, alpha, comparisons);
    }

    /// <summary>
    /// The classes <paramref name="selection"/> picks, each explained by the ReST score S = y_t − CE(y, t) = 2·y_t − log Σ_i e^{y_i}
    /// (pytorch-grad-cam's ClassifierOutputReST: the logit and the log-probability together), whose gradient on the logits is 2·e_t − softmax(y).
    /// </summary>
    internal static TargetSelection Rest(TargetSelection selection) => new RestScore(selection);

    /// <summary>The target syntax, as help texts and errors show it.</summary>
    public const string Syntax = "top1, topk:K, class:I[,J...], contrast:A,B[,C...], weights:A=W[,B=W...]";

    /// <summary>
    /// Parses the target syntax the CLI and the cluster share: <c>top1</c>, <c>topk:K</c>,
    /// <c>class:I[,J...]</c>, <c>contrast:A,B[,C...]</c> (<see cref="Contrast"/>) or <c>weights:A=W[,B=W...]</c>
    /// (<see cref="Weighted"/>; weights are numbers with a dot for decimals). The cluster's older
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

        if (text.StartsWith("weights:", StringComparison.Ordinal))
        {
            var terms = WeightList(text, text[8..]);
            return WeightsProblem(terms) is { } problem ? throw new FormatException($"Target '{text}': {problem}") : WeightedSum.Of(terms);
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

    private static (int Class, double Weight)[] WeightList(string text, string list)
    {
        var parts = list.Split(',');
        var terms = new (int Class, double Weight)[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            var equals = parts[i].IndexOf('=', StringComparison.Ordinal);
            if (equals < 0 || !int.TryParse(parts[i].AsSpan(0, equals), NumberStyles.None, CultureInfo.InvariantCulture, out var c))
            {
                throw new FormatException($"Target '{text}': '{parts[i]}' is not CLASS=WEIGHT (weights:A=W[,B=W...]).");
            }

            terms[i] = double.TryParse(parts[i].AsSpan(equals + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var w)
                ? (c, w)
                : throw new FormatException($"Target '{text}': '{parts[i][(equals + 1)..]}' is not a number (the weight of class {c}).");
        }

        return terms;
    }

    /// <summary>What is wrong with the terms of a weighted sum, or null: the checks <see cref="Weighted"/> and <see cref="Parse"/> share.</summary>
    private static string? WeightsProblem((int Class, double Weight)[] terms)
    {
        if (terms.Length == 0)
        {
            return "give at least one CLASS=WEIGHT.";
        }

        foreach (var (c, w) in terms)
        {
            if (c < 0)
            {
                return $"class {c} is not a class index.";
            }

            if (!double.IsFinite(w) || w == 0)
            {
                return $"the weight of class {c} must be a finite non-zero number, not {w.ToString(CultureInfo.InvariantCulture)}.";
            }
        }

        if (terms.GroupBy(t => t.Class).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            return $"class {twice.Key} is listed twice.";
        }

        return terms[0].Weight > 0
            ? null
            : $"the first class ({terms[0].Class}) is the one explained, whose label and probability the results report; its weight must be positive.";
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

    /// <summary>True when a target is explained by another score of the logits than its own logit (a weighted sum or other contrast of classes).</summary>
    internal virtual bool IsContrast => false;

    /// <summary>
    /// The part of output file names that tells the explanation of class <paramref name="target"/> of image <paramref name="image"/> apart:
    /// <c>c&lt;class&gt;</c> for the class's own logit; a weighted sum's own (<c>c3-vs-5_7</c>, <c>w3x1_5x-0.5</c>) otherwise.
    /// </summary>
    public virtual string OutputName(int image, int target) => $"c{target}";

    /// <summary>
    /// The score the targets of image <paramref name="image"/> are explained by, in the target syntax (<c>contrast:3,5,7</c>,
    /// <c>weights:3=1,5=-0.5</c>), as manifest records show it; null for each class's own logit.
    /// </summary>
    public virtual string? ScoreText(int image) => null;

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

        public override string OutputName(int image, int target) => selections[image].OutputName(image, target);

        public override string? ScoreText(int image) => selections[image].ScoreText(image);

        internal override void ScoreGradient(int image, ReadOnlySpan<float> logits, int target, Span<float> seed) =>
            selections[image].ScoreGradient(image, logits, target, seed);
    }

    private sealed class Pin(TargetSelection scoring, IReadOnlyList<IReadOnlyList<int>> targets) : TargetSelection
    {
        internal override bool IsContrast => scoring.IsContrast;

        internal override IReadOnlyList<int> Select(int image, ReadOnlySpan<float> logits) => targets[image];

        public override string OutputName(int image, int target) => scoring.OutputName(image, target);

        public override string? ScoreText(int image) => scoring.ScoreText(image);

        internal override void ScoreGradient(int image, ReadOnlySpan<float> logits, int target, Span<float> seed) =>
            scoring.ScoreGradient(image, logits, target, seed);
    }

    /// <summary>S = Σ_i w_i·y_i, explained for the first term's class; <paramref name="text"/> and <paramref name="name"/> are how it was written and how output files name it.</summary>
    private sealed class WeightedSum((int Class, double Weight)[] terms, string text, string name) : TargetSelection
    {
        /// <summary>A weighted sum written as <c>weights:</c>, checked already.</summary>
        public static WeightedSum Of((int Class, double Weight)[] terms) => new(
            [.. terms],
            "weights:" + string.Join(',', terms.Select(t => $"{t.Class}={Number(t.Weight)}")),
            "w" + string.Join('_', terms.Select(t => $"{t.Class}x{Number(t.Weight)}")));

        internal override bool IsContrast => true;

        internal override IReadOnlyList<int> Select(int image, ReadOnlySpan<float> logits)
        {
            _ = InRange([.. terms.Select(t => t.Class)], logits.Length);
            return [terms[0].Class];
        }

        internal override void ScoreGradient(int image, ReadOnlySpan<float> logits, int target, Span<float> seed)
        {
            foreach (var (c, w) in terms)
            {
                seed[c] += (float)w;
            }
        }

        public override string OutputName(int image, int target) => name;

        public override string? ScoreText(int image) => text;

        private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
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
