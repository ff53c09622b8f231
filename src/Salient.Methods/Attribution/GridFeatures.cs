using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Attribution;

/// <summary>Grid features of an image: cell × cell squares, row-major, the last row and column cut by the edge.</summary>
internal static class GridFeatures
{
    /// <summary>The squares (top, left, height, width) of an image of <paramref name="height"/> × <paramref name="width"/>.</summary>
    public static (int Top, int Left, int Height, int Width)[] Cells(int height, int width, int cell) =>
        [.. Enumerable.Range(0, (height + cell - 1) / cell).SelectMany(row => Enumerable.Range(0, (width + cell - 1) / cell).Select(column =>
            (row * cell, column * cell, Math.Min(cell, height - (row * cell)), Math.Min(cell, width - (column * cell)))))];

    /// <summary>Writes <paramref name="image"/> [C,H,W] to <paramref name="copy"/> with every feature that is not <paramref name="present"/> at <paramref name="baseline"/>.</summary>
    public static void Fill(ReadOnlySpan<float> image, Span<float> copy, int height, int width, (int Top, int Left, int Height, int Width)[] cells, Func<int, bool> present, float baseline)
    {
        image.CopyTo(copy);
        var plane = height * width;
        var channels = image.Length / plane;
        for (var f = 0; f < cells.Length; f++)
        {
            if (present(f))
            {
                continue;
            }

            var (top, left, h, w) = cells[f];
            for (var c = 0; c < channels; c++)
            {
                for (var y = top; y < top + h; y++)
                {
                    copy.Slice((c * plane) + (y * width) + left, w).Fill(baseline);
                }
            }
        }
    }

    /// <summary>A raw attribution [C,H,W]: every pixel of every channel gets its feature's value.</summary>
    public static Tensor Spread(ReadOnlySpan<double> values, (int Top, int Left, int Height, int Width)[] cells, int channels, int height, int width)
    {
        var raw = Tensor.Uninitialized(channels, height, width);
        var plane = height * width;
        for (var f = 0; f < cells.Length; f++)
        {
            var (top, left, h, w) = cells[f];
            for (var c = 0; c < channels; c++)
            {
                for (var y = top; y < top + h; y++)
                {
                    raw.Span.Slice((c * plane) + (y * width) + left, w).Fill((float)values[f]);
                }
            }
        }

        return raw;
    }
}
