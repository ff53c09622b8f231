using System.Buffers;
using System.Numerics;

namespace Salient.Imaging.Internal;

/// <summary>
/// A port of Pillow 9.x's BILINEAR resize (libImaging/Resample.c, 8 bits per channel): a
/// triangle filter whose support grows with the downscale factor (antialiasing), coefficients
/// normalised in double and rounded to 22-bit fixed point, a horizontal pass clipped to 8 bits
/// and then a vertical pass. Each output pixel depends only on its own coefficients, so a crop
/// of the resized image is computed directly and is identical to resizing and then cropping.
/// </summary>
public static class PillowResample
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

    private static byte Clip8(int v)
    {
        v >>= PrecisionBits;
        return v <= 0 ? (byte)0 : v >= 255 ? (byte)255 : (byte)v;
    }

    /// <summary>
    /// Resizes <paramref name="src"/> (<paramref name="srcWidth"/> x <paramref name="srcHeight"/>,
    /// <paramref name="channels"/> interleaved bytes per pixel) to <paramref name="outWidth"/> x
    /// <paramref name="outHeight"/> and writes the window at (<paramref name="cropX"/>,
    /// <paramref name="cropY"/>) of size <paramref name="cropWidth"/> x <paramref name="cropHeight"/>
    /// to <paramref name="dst"/>. Window pixels outside the resized image are zero, as
    /// torchvision's CenterCrop pads them.
    /// </summary>
    public static void ResizeCrop(
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

    private static unsafe void Horizontal(ReadOnlySpan<byte> src, int srcStride, int channels, Axis axis, Span<byte> dst, int dstStride)
    {
        var rows = dst.Length / dstStride;
        var width = axis.Start.Length;
        fixed (byte* srcBase = src, dstBase = dst)
        fixed (int* weights = axis.Weights, starts = axis.Start, counts = axis.Count)
        {
            for (var y = 0; y < rows; y++)
            {
                var row = srcBase + ((nint)y * srcStride);
                var output = dstBase + ((nint)y * dstStride);
                for (var xx = 0; xx < width; xx++)
                {
                    var k = weights + ((nint)xx * axis.Stride);
                    var taps = counts[xx];
                    var p = row + ((nint)starts[xx] * channels);
                    if (channels == 3)
                    {
                        // The common case, with the three sums in one pass over the taps.
                        int s0 = Half, s1 = Half, s2 = Half;
                        for (var x = 0; x < taps; x++, p += 3)
                        {
                            s0 += p[0] * k[x];
                            s1 += p[1] * k[x];
                            s2 += p[2] * k[x];
                        }

                        output[0] = Clip8(s0);
                        output[1] = Clip8(s1);
                        output[2] = Clip8(s2);
                        output += 3;
                        continue;
                    }

                    for (var c = 0; c < channels; c++)
                    {
                        var sum = Half;
                        for (var x = 0; x < taps; x++)
                        {
                            sum += p[(x * channels) + c] * k[x];
                        }

                        *output++ = Clip8(sum);
                    }
                }
            }
        }
    }

    private static unsafe void Vertical(ReadOnlySpan<byte> src, int srcStride, int rowBytes, Axis axis, int firstRow, Span<byte> dst, int dstStride)
    {
        var sums = ArrayPool<int>.Shared.Rent(rowBytes);
        // Source row addresses for the taps of one output row; a huge downscale has many taps.
        Span<nint> rowSpan = axis.Stride <= 256 ? stackalloc nint[axis.Stride] : new nint[axis.Stride];
        try
        {
            fixed (byte* srcBase = src, dstBase = dst)
            fixed (int* acc = sums)
            fixed (nint* rowAddresses = rowSpan)
            {
                var rows = (byte**)rowAddresses;
                for (var yy = 0; yy < axis.Start.Length; yy++)
                {
                    var k = axis.Weights.AsSpan(yy * axis.Stride, axis.Count[yy]);
                    for (var y = 0; y < k.Length; y++)
                    {
                        rows[y] = srcBase + ((nint)(axis.Start[yy] + y - firstRow) * srcStride);
                    }

                    var i = Accumulate(rows, k, rowBytes, acc);
                    for (; i < rowBytes; i++)
                    {
                        var sum = Half;
                        for (var y = 0; y < k.Length; y++)
                        {
                            sum += rows[y][i] * k[y];
                        }

                        acc[i] = sum;
                    }

                    var output = dstBase + ((nint)yy * dstStride);
                    for (i = 0; i < rowBytes; i++)
                    {
                        output[i] = Clip8(acc[i]);
                    }
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(sums);
        }
    }

    /// <summary>
    /// The vertical sums of whole SIMD blocks of a row: the same integer arithmetic as the scalar
    /// loop, so results are identical. Returns how many bytes it covered.
    /// </summary>
    private static unsafe int Accumulate(byte** rows, ReadOnlySpan<int> k, int rowBytes, int* acc)
    {
        var block = Vector<byte>.Count;
        var quarter = Vector<int>.Count;
        var i = 0;
        for (; i + block <= rowBytes; i += block)
        {
            Vector<int> s0 = new(Half), s1 = s0, s2 = s0, s3 = s0;
            for (var y = 0; y < k.Length; y++)
            {
                var weight = new Vector<int>(k[y]);
                Vector.Widen(Vector.Load(rows[y] + i), out var low, out var high);
                Vector.Widen(low, out var a, out var b);
                Vector.Widen(high, out var c, out var d);
                s0 += Vector.AsVectorInt32(a) * weight;
                s1 += Vector.AsVectorInt32(b) * weight;
                s2 += Vector.AsVectorInt32(c) * weight;
                s3 += Vector.AsVectorInt32(d) * weight;
            }

            s0.Store(acc + i);
            s1.Store(acc + i + quarter);
            s2.Store(acc + i + (2 * quarter));
            s3.Store(acc + i + (3 * quarter));
        }

        return i;
    }
}
