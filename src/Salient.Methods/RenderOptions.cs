using Salient.Imaging;

namespace Salient.Methods;

/// <summary>Which files an explanation becomes, and how heatmaps, overlays and masks are drawn.</summary>
public sealed record RenderOptions
{
    /// <summary>Every output format: map and raw map as <c>.npy</c>, heatmap PNG, overlay PNG, mask PNG, boxes JSON.</summary>
    public static IReadOnlyList<string> FormatNames { get; } = ["npy", "png", "overlay", "mask", "boxes"];

    /// <summary>The formats to write, a subset of <see cref="FormatNames"/>.</summary>
    public IReadOnlySet<string> Formats { get; init; } = new HashSet<string>(["npy", "png", "overlay"], StringComparer.Ordinal);

    /// <summary>Heatmap colours.</summary>
    public Colormap Colormap { get; init; } = Colormap.Jet;

    /// <summary>Weight of the heatmap in the overlay, in [0, 1].</summary>
    public double Alpha { get; init; } = SaliencyRenderer.DefaultAlpha;

    /// <summary>Map threshold for masks and boxes.</summary>
    public float Threshold { get; init; } = SaliencyRenderer.DefaultThreshold;

    /// <summary>Whether <paramref name="format"/> is written.</summary>
    public bool Wants(string format) => Formats.Contains(format);

    /// <summary>Options from a list of format names; unknown names, no format, or an alpha outside [0, 1] are an <see cref="ArgumentException"/>.</summary>
    public static RenderOptions Create(IEnumerable<string> formats, string colormap = "jet", double alpha = SaliencyRenderer.DefaultAlpha, float threshold = SaliencyRenderer.DefaultThreshold)
    {
        ArgumentNullException.ThrowIfNull(formats);
        var set = new HashSet<string>(formats, StringComparer.Ordinal);
        if (set.Count == 0 || set.Except(FormatNames).Any())
        {
            throw new ArgumentException($"formats '{string.Join(',', set)}': valid formats are {string.Join(", ", FormatNames)}.");
        }

        if (alpha is < 0 or > 1)
        {
            throw new ArgumentException("alpha must lie in [0, 1].");
        }

        return new RenderOptions { Formats = set, Colormap = Colormaps.Parse(colormap), Alpha = alpha, Threshold = threshold };
    }
}
