using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Unfolds convolution windows into a [C·KH·KW, OH·OW] matrix, zeros where windows read padding. Its
/// rows are <c>rowStride</c> apart, so several images' matrices can sit side by side in one wider one.
/// </summary>
internal static unsafe class Im2Col
{
    /// <summary><paramref name="src"/> holds <paramref name="channels"/> planes of one image; <paramref name="col"/>'s rows are <paramref name="rowStride"/> apart.</summary>
    public static void Run(in Conv2dGeometry g, int channels, float* src, float* col, int rowStride)
    {
        int inH = g.InHeight, inW = g.InWidth;
        // Stride 2 along rows (stems, downsampling): each input row split once into its even and odd
        // columns turns every window row into a contiguous copy instead of a strided gather.
        var split = g.StrideWidth == 2 ? HostArrayPool.Shared.Rent(inH * (inW + 2)) : null;
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
                            // Even columns first, then odd ones; an odd width leaves one even column over.
                            var half = halves + ((long)ih * (inW + 2));
                            var source = image + ((long)ih * inW);
                            Deinterleave.Pairs(source, half, half + ((inW + 1) / 2), inW / 2);
                            if (inW % 2 == 1)
                            {
                                half[inW / 2] = source[inW - 1];
                            }
                        }
                    }

                    for (var ki = 0; ki < g.KernelHeight; ki++)
                    {
                        for (var kj = 0; kj < g.KernelWidth; kj++, row += rowStride)
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
                HostArrayPool.Shared.Return(split);
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
}
