namespace Salient.Engine.Kernels.Cpu;

/// <summary>Unfolds convolution windows into a [C·KH·KW, OH·OW] matrix, zeros where windows read padding.</summary>
internal static unsafe class Im2Col
{
    /// <summary><paramref name="src"/> holds <paramref name="channels"/> planes of one image.</summary>
    public static void Run(in Conv2dGeometry g, int channels, float* src, float* col)
    {
        int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        var plane = outH * outW;
        var row = col;
        for (var c = 0; c < channels; c++)
        {
            var image = src + ((long)c * inH * inW);
            for (var ki = 0; ki < g.KernelHeight; ki++)
            {
                for (var kj = 0; kj < g.KernelWidth; kj++, row += plane)
                {
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
                        else
                        {
                            for (var ow = wStart; ow < wEnd; ow++)
                            {
                                dst[ow] = srcRow[ow * g.StrideWidth];
                            }
                        }
                    }
                }
            }
        }
    }
}
