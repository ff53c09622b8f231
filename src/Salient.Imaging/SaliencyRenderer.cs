using System.Buffers;
using System.Text.Json.Serialization;

namespace Salient.Imaging;

/// <summary>
/// The bounding box of the largest 8-connected region of a thresholded saliency map. Bounds are
/// inclusive pixel indices; it serialises to JSON as <c>{"x0", "y0", "x1", "y1", "area", "score"}</c>.
/// </summary>
/// <param name="X0">Leftmost column of the region.</param>
/// <param name="Y0">Top row of the region.</param>
/// <param name="X1">Rightmost column of the region (inclusive).</param>
/// <param name="Y1">Bottom row of the region (inclusive).</param>
/// <param name="Area">The region's pixel count.</param>
/// <param name="Score">The mean map value over the region's pixels.</param>
public readonly record struct SaliencyBox(
    [property: JsonPropertyName("x0")] int X0,
    [property: JsonPropertyName("y0")] int Y0,
    [property: JsonPropertyName("x1")] int X1,
    [property: JsonPropertyName("y1")] int Y1,
    [property: JsonPropertyName("area")] int Area,
    [property: JsonPropertyName("score")] float Score);

/// <summary>
/// Renders a saliency map (float32, <c>height</c> rows of <c>width</c> values, row-major) as
/// pytorch-grad-cam shows it. Values are expected in [0, 1]; values outside are clamped and NaN is
/// rejected with an <see cref="ArgumentException"/> naming the pixel.
/// </summary>
public static class SaliencyRenderer
{
    /// <summary>The default threshold of <see cref="Mask"/> and <see cref="Box"/>.</summary>
    public const float DefaultThreshold = 0.5f;

    /// <summary>The default heatmap weight of <see cref="Overlay"/> (pytorch-grad-cam's <c>image_weight</c> 0.5).</summary>
    public const double DefaultAlpha = 0.5;

    /// <summary>
    /// The heatmap: pixel = <paramref name="colormap"/> entry <c>uint8(255 * map)</c>, truncated as
    /// <c>np.uint8</c> truncates, i.e. <c>cv2.applyColorMap(np.uint8(255 * map), ...)</c> in RGB order.
    /// </summary>
    /// <returns>A new image the caller disposes.</returns>
    public static RgbImage Heatmap(ReadOnlySpan<float> map, int width, int height, Colormap colormap = Colormap.Jet)
    {
        CheckMap(map, width, height);
        var table = Colormaps.Table(colormap);
        var image = RgbImage.Create(width, height);
        var pixels = image.Pixels;
        for (var i = 0; i < map.Length; i++)
        {
            table.Slice(Level(map[i]) * 3, 3).CopyTo(pixels.Slice(i * 3, 3));
        }

        return image;
    }

    /// <summary>
    /// The heatmap blended over <paramref name="image"/> (the map's size) as pytorch-grad-cam's
    /// <c>show_cam_on_image(np.float32(img) / 255, map, use_rgb=True, image_weight=1 - alpha)</c> does, in float32:
    /// <c>cam = alpha·heatmap/255 + (1 − alpha)·img/255</c>, <c>cam /= max(cam)</c> over all samples,
    /// pixel = <c>uint8(255·cam)</c> truncated. An all-zero blend (gray map of zeros on black) stays black.
    /// </summary>
    /// <param name="map">The saliency map, <c>image.Height</c> × <c>image.Width</c>.</param>
    /// <param name="image">The image under the heatmap, e.g. <see cref="ImagePreprocessor.ResizeAndCrop"/>'s.</param>
    /// <param name="colormap">The heatmap's colour scale.</param>
    /// <param name="alpha">The heatmap's weight in [0, 1]; the image weighs 1 − alpha.</param>
    /// <returns>A new image the caller disposes.</returns>
    public static RgbImage Overlay(ReadOnlySpan<float> map, RgbImage image, Colormap colormap = Colormap.Jet, double alpha = DefaultAlpha)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckMap(map, image.Width, image.Height);
        if (!(alpha is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "The overlay alpha must be in [0, 1].");
        }

        // numpy rounds the Python weights to float32, as here: (1 - image_weight) and image_weight.
        var imageWeight = 1 - alpha;
        float heatWeight = (float)(1 - imageWeight), pixelWeight = (float)imageWeight;
        var table = Colormaps.Table(colormap);
        ReadOnlySpan<byte> source = image.Pixels;
        var cam = ArrayPool<float>.Shared.Rent(source.Length);
        try
        {
            var max = 0f;
            for (var p = 0; p < map.Length; p++)
            {
                var heat = table.Slice(Level(map[p]) * 3, 3);
                for (var c = 0; c < 3; c++)
                {
                    var i = (p * 3) + c;
                    cam[i] = (heatWeight * (heat[c] / 255f)) + (pixelWeight * (source[i] / 255f));
                    max = Math.Max(max, cam[i]);
                }
            }

            var result = RgbImage.Create(image.Width, image.Height);
            var pixels = result.Pixels;
            for (var i = 0; i < pixels.Length; i++)
            {
                pixels[i] = max > 0 ? (byte)(255f * (cam[i] / max)) : (byte)0;
            }

            return result;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(cam);
        }
    }

    /// <summary>
    /// The binary mask, one gray byte per pixel: 255 where the map is ≥ <paramref name="threshold"/>, else 0.
    /// Write it with <see cref="PngEncoder"/> as <see cref="PngColorType.Gray"/>.
    /// </summary>
    /// <param name="map">The saliency map.</param>
    /// <param name="width">Map width.</param>
    /// <param name="height">Map height.</param>
    /// <param name="destination">width × height bytes to fill.</param>
    /// <param name="threshold">The cut; NaN is rejected.</param>
    public static void Mask(ReadOnlySpan<float> map, int width, int height, Span<byte> destination, float threshold = DefaultThreshold)
    {
        CheckMap(map, width, height);
        CheckThreshold(threshold);
        if (destination.Length != map.Length)
        {
            throw new ArgumentException($"The mask of a {width}x{height} map needs {map.Length} bytes; the destination has {destination.Length}.", nameof(destination));
        }

        for (var i = 0; i < map.Length; i++)
        {
            destination[i] = Above(map[i], threshold) ? (byte)255 : (byte)0;
        }
    }

    /// <summary>
    /// The box of the largest 8-connected region of the <see cref="Mask"/> pixels (the first in
    /// row-major order of its top-left pixel among equally large ones), or null when no pixel
    /// reaches <paramref name="threshold"/>.
    /// </summary>
    public static SaliencyBox? Box(ReadOnlySpan<float> map, int width, int height, float threshold = DefaultThreshold)
    {
        CheckMap(map, width, height);
        CheckThreshold(threshold);
        var visited = ArrayPool<bool>.Shared.Rent(map.Length);
        var stack = ArrayPool<int>.Shared.Rent(map.Length);
        try
        {
            Array.Clear(visited, 0, map.Length);
            SaliencyBox? best = null;
            for (var start = 0; start < map.Length; start++)
            {
                if (visited[start] || !Above(map[start], threshold))
                {
                    continue;
                }

                // Depth-first fill; each pixel is pushed once, so the stack never outgrows the map.
                visited[start] = true;
                stack[0] = start;
                int top = 1, area = 0, x0 = width, y0 = height, x1 = -1, y1 = -1;
                var sum = 0.0;
                while (top > 0)
                {
                    var p = stack[--top];
                    int x = p % width, y = p / width;
                    (x0, y0, x1, y1) = (Math.Min(x0, x), Math.Min(y0, y), Math.Max(x1, x), Math.Max(y1, y));
                    area++;
                    sum += Math.Clamp(map[p], 0f, 1f);
                    for (var ny = Math.Max(y - 1, 0); ny <= Math.Min(y + 1, height - 1); ny++)
                    {
                        for (var nx = Math.Max(x - 1, 0); nx <= Math.Min(x + 1, width - 1); nx++)
                        {
                            var q = (ny * width) + nx;
                            if (!visited[q] && Above(map[q], threshold))
                            {
                                visited[q] = true;
                                stack[top++] = q;
                            }
                        }
                    }
                }

                if (area > (best?.Area ?? 0))
                {
                    best = new SaliencyBox(x0, y0, x1, y1, area, (float)(sum / area));
                }
            }

            return best;
        }
        finally
        {
            ArrayPool<bool>.Shared.Return(visited);
            ArrayPool<int>.Shared.Return(stack);
        }
    }

    /// <summary>np.uint8(255 * v) on the float32 value clamped to [0, 1]: truncation.</summary>
    private static int Level(float v) => (int)(255f * Math.Clamp(v, 0f, 1f));

    private static bool Above(float v, float threshold) => Math.Clamp(v, 0f, 1f) >= threshold;

    private static void CheckThreshold(float threshold)
    {
        if (float.IsNaN(threshold))
        {
            throw new ArgumentException("The mask threshold is NaN.", nameof(threshold));
        }
    }

    private static void CheckMap(ReadOnlySpan<float> map, int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if ((long)width * height != map.Length)
        {
            throw new ArgumentException($"A {width}x{height} saliency map has {(long)width * height} values; {map.Length} were given.", nameof(map));
        }

        for (var i = 0; i < map.Length; i++)
        {
            if (float.IsNaN(map[i]))
            {
                throw new ArgumentException($"The saliency map is NaN at x={i % width}, y={i / width}; it cannot be rendered.", nameof(map));
            }
        }
    }
}
