using System.Buffers;
using System.Runtime.Intrinsics;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>Unfolds convolution windows into a [C·KH·KW, OH·OW] matrix, zeros where windows read padding.</summary>
internal static unsafe class Im2Col
{
    /// <summary><paramref name="src"/> holds <paramref name="channels"/> planes of one image.</summary>
    public static void Run(in Conv2dGeometry g, int channels, float* src, float* col)
    {
        int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        var plane = outH * outW;
        // Stride 2 along rows (stems, downsampling): each input row split once into its even and odd
        // columns turns every window row into a contiguous copy instead of a strided gather.
        var split = g.StrideWidth == 2 ? ArrayPool<float>.Shared.Rent(inH * (inW + 2)) : null;
        try
        {
            fixed (float* halves = split)
            {
                var row = col;
                for (var c = 0; c < channels; c++)
                {
                    var image = src + ((long)c * inH * inW);
                    if (halves != null)
                    {
                        for (var ih = 0; ih < inH; ih++)
                        {
                            Deinterleave(image + ((long)ih * inW), inW, halves + ((long)ih * (inW + 2)));
                        }
                    }

                    for (var ki = 0; ki < g.KernelHeight; ki++)
                    {
                        for (var kj = 0; kj < g.KernelWidth; kj++, row += plane)
                        {
                            Unfold(g, image, halves, ki, kj, row);
                        }
                    }
                }
            }
        }
        finally
        {
            if (split is not null)
            {
                ArrayPool<float>.Shared.Return(split);
            }
        }
    }

    // One row of the column matrix: tap (ki, kj) of every output position.
    private static void Unfold(in Conv2dGeometry g, float* image, float* halves, int ki, int kj, float* row)
    {
        int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        var offW = (kj * g.DilationWidth) - g.PadLeft;
        var (wStart, wEnd) = ConvWindow.ValidRange(offW, g.StrideWidth, inW, outW);
        for (var oh = 0; oh < outH; oh++)
        {
            var dst = new Span<float>(row + ((long)oh * outW), outW);
            var ih = (oh * g.StrideHeight) - g.PadTop + (ki * g.DilationHeight);
            if ((uint)ih >= (uint)inH)
            {
                dst.Clear();
                continue;
            }

            dst[..wStart].Clear();
            dst[wEnd..].Clear();
            var srcRow = image + ((long)ih * inW) + offW;
            if (g.StrideWidth == 1)
            {
                new ReadOnlySpan<float>(srcRow + wStart, wEnd - wStart).CopyTo(dst[wStart..]);
            }
            else if (halves != null)
            {
                // Column 2·ow + offW is half (offW & 1) at index ow + (offW >> 1).
                var half = halves + ((long)ih * (inW + 2)) + ((offW & 1) * ((inW + 1) / 2)) + (offW >> 1);
                new ReadOnlySpan<float>(half + wStart, wEnd - wStart).CopyTo(dst[wStart..]);
            }
            else
            {
                var to = row + ((long)oh * outW);
                var stride = g.StrideWidth;
                for (var ow = wStart; ow < wEnd; ow++)
                {
                    to[ow] = srcRow[ow * stride];
                }
            }
        }
    }

    /// <summary>dst[0 .. (n+1)/2) = the even columns of <paramref name="row"/>, then its odd columns.</summary>
    private static void Deinterleave(float* row, int n, float* dst)
    {
        var evens = (n + 1) / 2;
        var even = dst;
        var odd = dst + evens;
        var j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var order = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
            for (; (2 * j) + 16 <= n; j += 8)
            {
                var a = Vector256.Shuffle(Vector256.Load(row + (2 * j)), order);
                var b = Vector256.Shuffle(Vector256.Load(row + (2 * j) + 8), order);
                Vector256.Create(a.GetLower(), b.GetLower()).Store(even + j);
                Vector256.Create(a.GetUpper(), b.GetUpper()).Store(odd + j);
            }
        }

        for (; 2 * j < n; j++)
        {
            even[j] = row[2 * j];
            if ((2 * j) + 1 < n)
            {
                odd[j] = row[(2 * j) + 1];
            }
        }
    }
}
