using Salient.Imaging.Internal;

namespace Salient.Imaging;

/// <summary>The colour scales a saliency map can be rendered with; see <see cref="Colormaps"/>.</summary>
public enum Colormap
{
    /// <summary>OpenCV's <c>COLORMAP_JET</c>, pytorch-grad-cam's default (name <c>jet</c>).</summary>
    Jet,

    /// <summary>Google's Turbo (name <c>turbo</c>).</summary>
    Turbo,

    /// <summary>matplotlib's viridis (name <c>viridis</c>).</summary>
    Viridis,

    /// <summary>Black to white (name <c>gray</c>).</summary>
    Gray,
}

/// <summary>
/// Names and 256-entry RGB tables of the <see cref="Colormap"/> values. Entry <c>i</c> is the colour
/// of the quantised map value <c>i</c>, as <c>cv2.applyColorMap(np.uint8(255 * map), ...)</c> indexes
/// it. Jet, turbo and viridis are the tables <c>cv2.applyColorMap</c> builds for <c>COLORMAP_JET</c>,
/// <c>COLORMAP_TURBO</c> and <c>COLORMAP_VIRIDIS</c>, converted from its BGR order to RGB.
/// </summary>
public static class Colormaps
{
    private static readonly string[] AllNames = ["jet", "turbo", "viridis", "gray"];

    /// <summary>The valid names, in <see cref="Colormap"/> order.</summary>
    public static IReadOnlyList<string> Names => AllNames;

    /// <summary>The name of <paramref name="colormap"/>, as <see cref="Parse"/> accepts it.</summary>
    public static string Name(Colormap colormap) => AllNames[(int)Checked(colormap)];

    /// <summary>The colormap called <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the valid names.</exception>
    public static Colormap Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        for (var i = 0; i < AllNames.Length; i++)
        {
            if (string.Equals(AllNames[i], name.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return (Colormap)i;
            }
        }

        throw new ArgumentException($"Unknown colormap '{name}'; valid names: {string.Join(", ", AllNames)}.", nameof(name));
    }

    /// <summary>The table of <paramref name="colormap"/>: 256 entries of R, G, B bytes (768 bytes).</summary>
    public static ReadOnlySpan<byte> Table(Colormap colormap) => Checked(colormap) switch
    {
        Colormap.Jet => ColormapData.Jet,
        Colormap.Turbo => ColormapData.Turbo,
        Colormap.Viridis => ColormapData.Viridis,
        _ => ColormapData.Gray,
    };

    private static Colormap Checked(Colormap colormap) =>
        Enum.IsDefined(colormap) ? colormap : throw new ArgumentOutOfRangeException(nameof(colormap), colormap, $"Not a colormap; valid names: {string.Join(", ", AllNames)}.");
}
