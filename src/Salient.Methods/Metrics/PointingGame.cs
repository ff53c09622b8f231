namespace Salient.Methods.Metrics;

/// <summary>
/// The pointing game (Zhang et al. 2016, TorchRay's definition): a hit when the map's maximum (the
/// first in row-major order among equal maxima) lies closer than <c>tolerance</c> pixels to a pixel
/// of the target's mask (squared distance strictly below tolerance²).
/// </summary>
public static class PointingGame
{
    /// <summary>The customary tolerance, 15 pixels.</summary>
    public const double DefaultTolerance = 15;

    /// <summary>Whether the maximum of <paramref name="map"/> (<paramref name="width"/> columns) points into <paramref name="mask"/>.</summary>
    public static bool Hit(ReadOnlySpan<float> map, int width, ReadOnlySpan<bool> mask, double tolerance = DefaultTolerance)
    {
        CheckSizes(map.Length, width, mask.Length);
        var peak = 0;
        for (var i = 1; i < map.Length; i++)
        {
            if (map[i] > map[peak])
            {
                peak = i;
            }
        }

        var (px, py) = (peak % width, peak / width);
        var height = map.Length / width;
        var reach = (int)Math.Ceiling(tolerance);
        for (var y = Math.Max(0, py - reach); y <= Math.Min(height - 1, py + reach); y++)
        {
            for (var x = Math.Max(0, px - reach); x <= Math.Min(width - 1, px + reach); x++)
            {
                var (dx, dy) = (x - px, y - py);
                if (mask[(y * width) + x] && (dx * dx) + (dy * dy) < tolerance * tolerance)
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Throws unless the map and the mask are the same width × height.</summary>
    internal static void CheckSizes(int mapLength, int width, int maskLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        if (mapLength == 0 || mapLength % width != 0 || maskLength != mapLength)
        {
            throw new ArgumentException($"The map ({mapLength} values, {width} wide) and the mask ({maskLength} values) must be the same width × height.");
        }
    }
}
