using System.Buffers;

namespace Salient.Imaging.Internal;

/// <summary>
/// A port of Pillow 9.x's BILINEAR resize (libImaging/Resample.c, 8 bits per channel): a
/// triangle filter whose support grows with the downscale factor (antialiasing), coefficients
/// normalised in double and rounded to 22-bit fixed point, a horizontal pass clipped to 8 bits
/// and then a vertical pass. Each output pixel depends only on its own coefficients, so a crop
/// of the resized image is computed directly and is identical to resizing and then cropping.
/// </summary>
internal static class PillowResample
{
    private const int PrecisionBits = 32 - 8 - 2;
    private const int Half = 1 << (PrecisionBits - 1);

    /// <summary>Source taps of a range of output positions on one axis.</summary>
    internal sealed class Axis
    {
        public required int[] Start { get; init; }
        public required int[] Count { get; init; }
        public required int[] Weights { get; init; }
        public required int Stride { get; init; }
    }

    /// <summary>
    /// precompute_coeffs + normalize_coeffs_8bpc for outputs [first, first + count) of a resize
    /// from <paramref name="inSize"/> to <paramref name="outSize"/> samples.
    /// </summary>
    internal static Axis Coefficients(int inSize, int outSize, int first, int count)
    {
        var scale = (double)inSize / outSize;
        var filterScale = Math.Max(scale, 1.0);
        var support = 1.0 * filterScale;
        var stride = ((int)Math.Ceiling(support) * 2) + 1;
        var start = new int[count];
        var taps = new int[count];
        var weights = new int[count * stride];
        var k = new double[stride];
        for (var i = 0; i < count; i++)
        {
            var xx = first + i;
            var center = (xx + 0.5) * scale;
            var ss = 1.0 / filterScale;
            var xmin = Math.Max((int)(center - support + 0.5), 0);
            var xmax = Math.Min((int)(center + support + 0.5), inSize) - xmin;
            var ww = 0.0;
            for (var x = 0; x < xmax; x++)
            {
                var w = Triangle((x + xmin - center + 0.5) * ss);
                k[x] = w;
                ww += w;
            }

            for (var x = 0; x < xmax; x++)
            {
                var w = ww != 0.0 ? k[x] / ww : k[x];
                weights[(i * stride) + x] = (int)(w < 0 ? -0.5 + (w * (1 << PrecisionBits)) : 0.5 + (w * (1 << PrecisionBits)));
            }

            start[i] = xmin;
            taps[i] = xmax;
        }

        return new Axis { Start = start, Count = taps, Weights = weights, Stride = stride };
    }

    private static double Triangle(double x)
    {
        x = Math.Abs(x);
        return x < 1.0 ? 1.0 - x : 0.0;
    }

    private static byte Clip8(int v) => (byte)Math.Clamp(v >> PrecisionBits, 0, 255);

    /// <summary>
    /// Resizes <paramref name="src"/> (<paramref name="srcWidth"/> x <paramref name="srcHeight"/>,
    /// <paramref name="channels"/> interleaved bytes per pixel) to <paramref name="outWidth"/> x
    /// <paramref name="outHeight"/> and writes the window at (<paramref name="cropX"/>,
    /// <paramref name="cropY"/>) of size <paramref name="cropWidth"/> x <paramref name="cropHeight"/>
    /// to <paramref name="dst"/>. Window pixels outside the resized image are zero, as
    /// torchvision's CenterCrop pads them.
    /// </summary>
    internal static void ResizeCrop(
        ReadOnlySpan<byte> src, int srcWidth, int srcHeight, int channels,
        int outWidth, int outHeight, int cropX, int cropY, int cropWidth, int cropHeight, Span<byte> dst)
    {
        var x0 = Math.Max(cropX, 0);
        var y0 = Math.Max(cropY, 0);
        var w = Math.Min(cropX + cropWidth, outWidth) - x0;
        var h = Math.Min(cropY + cropHeight, outHeight) - y0;
        var dstStride = cropWidth * channels;
        if (w < cropWidth || h < cropHeight)
        {
            dst[..(cropHeight * dstStride)].Clear();
        }

        if (w <= 0 || h <= 0)
        {
            return;
        }

        var inside = dst.Slice((((y0 - cropY) * cropWidth) + (x0 - cropX)) * channels);

        // Like Pillow, a pass runs only when that axis changes size; otherwise it is a copy.
        var srcStride = srcWidth * channels;
        var vertical = outHeight != srcHeight ? Coefficients(srcHeight, outHeight, y0, h) : null;
        var firstRow = vertical?.Start[0] ?? y0;
        var rows = vertical is null ? h : vertical.Start[h - 1] + vertical.Count[h - 1] - firstRow;

        byte[]? rented = null;
        ReadOnlySpan<byte> temp;
        int tempStride;
        if (outWidth != srcWidth)
        {
            tempStride = w * channels;
            rented = ArrayPool<byte>.Shared.Rent(rows * tempStride);
            Horizontal(src.Slice(firstRow * srcStride, rows * srcStride), srcStride, channels, Coefficients(srcWidth, outWidth, x0, w), rented.AsSpan(0, rows * tempStride), tempStride);
            temp = rented.AsSpan(0, rows * tempStride);
        }
        else
        {
            tempStride = srcStride;
            temp = src.Slice((firstRow * srcStride) + (x0 * channels));
        }

        try
        {
            if (vertical is null)
            {
                for (var y = 0; y < h; y++)
                {
                    temp.Slice(y * tempStride, w * channels).CopyTo(inside.Slice(y * dstStride));
                }
            }
            else
            {
                Vertical(temp, tempStride, w * channels, vertical, firstRow, inside, dstStride);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static void Horizontal(ReadOnlySpan<byte> src, int srcStride, int channels, Axis axis, Span<byte> dst, int dstStride)
    {
        var rows = dst.Length / dstStride;
        var width = axis.Start.Length;
        for (var y = 0; y < rows; y++)
        {
            var row = src.Slice(y * srcStride, srcStride);
            var outRow = dst.Slice(y * dstStride, dstStride);
            for (var xx = 0; xx < width; xx++)
            {
                var k = axis.Weights.AsSpan(xx * axis.Stride, axis.Count[xx]);
                var pixels = row[(axis.Start[xx] * channels)..];
                for (var c = 0; c < channels; c++)
                {
                    var sum = Half;
                    for (var x = 0; x < k.Length; x++)
                    {
                        sum += pixels[(x * channels) + c] * k[x];
                    }

                    outRow[(xx * channels) + c] = Clip8(sum);
                }
            }
        }
    }

    private static void Vertical(ReadOnlySpan<byte> src, int srcStride, int rowBytes, Axis axis, int firstRow, Span<byte> dst, int dstStride)
    {
        var sums = ArrayPool<int>.Shared.Rent(rowBytes);
        try
        {
            var acc = sums.AsSpan(0, rowBytes);
            for (var yy = 0; yy < axis.Start.Length; yy++)
            {
                acc.Fill(Half);
                var k = axis.Weights.AsSpan(yy * axis.Stride, axis.Count[yy]);
                for (var y = 0; y < k.Length; y++)
                {
                    var weight = k[y];
                    var row = src.Slice((axis.Start[yy] + y - firstRow) * srcStride, rowBytes);
                    for (var i = 0; i < row.Length; i++)
                    {
                        acc[i] += row[i] * weight;
                    }
                }

                var outRow = dst.Slice(yy * dstStride, rowBytes);
                for (var i = 0; i < rowBytes; i++)
                {
                    outRow[i] = Clip8(acc[i]);
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(sums);
        }
    }
}
