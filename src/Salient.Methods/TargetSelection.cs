using System.Globalization;

namespace Salient.Methods;

/// <summary>
/// Which classes of each image to explain: the top-1 class (default), the top K, fixed classes,
/// or a list per image (labels from a manifest).
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

    /// <summary>The target syntax, as help texts and errors show it.</summary>
    public const string Syntax = "top1, topk:K, class:I[,J...]";

    /// <summary>
    /// Parses the target syntax the CLI and the cluster share: <c>top1</c>, <c>topk:K</c> or
    /// <c>class:I[,J...]</c>. The cluster's older <c>topN</c> is still read (see <see cref="DeprecationOf"/>).
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
            var parts = text[6..].Split(',');
            var classes = new int[parts.Length];
            for (var i = 0; i < parts.Length; i++)
            {
                if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out classes[i]))
                {
                    throw new FormatException($"Target '{text}': '{parts[i]}' is not a class index.");
                }
            }

            return Classes(classes);
        }

        throw new FormatException($"Target '{text}' is not one of {Syntax}.");
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
        internal override IReadOnlyList<int> Select(int image, ReadOnlySpan<float> logits) => selections[image].Select(image, logits);
    }

    private sealed class Fixed(Func<int, IReadOnlyList<int>> classes) : TargetSelection
    {
        internal override IReadOnlyList<int> Select(int image, ReadOnlySpan<float> logits)
        {
            var chosen = classes(image);
            foreach (var c in chosen)
            {
                if (c < 0 || c >= logits.Length)
                {
                    throw new ArgumentException($"Target class {c} is out of range: the model has {logits.Length} classes.");
                }
            }

            return chosen;
        }
    }
}
