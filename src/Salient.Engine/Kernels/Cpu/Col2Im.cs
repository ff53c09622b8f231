using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>The adjoint of <see cref="Im2Col"/>: adds each column entry back onto the input position it was read from.</summary>
internal static unsafe class Col2Im
{
    /// <summary><paramref name="dst"/> holds <paramref name="channels"/> planes of one image and is accumulated into.</summary>
    public static void Run(in Conv2dGeometry g, int channels, float* col, float* dst)
    {
        int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        var plane = outH * outW;
        var row = col;
        for (var c = 0; c < channels; c++)
        {
            var image = dst + ((long)c * inH * inW);
            for (var ki = 0; ki < g.KernelHeight; ki++)
            {
                for (var kj = 0; kj < g.KernelWidth; kj++, row += plane)
                {
                    var offW = (kj * g.DilationWidth) - g.PadLeft;
                    var (wStart, wEnd) = ConvWindow.ValidRange(offW, g.StrideWidth, inW, outW);
                    for (var oh = 0; oh < outH; oh++)
                    {
                        var ih = (oh * g.StrideHeight) - g.PadTop + (ki * g.DilationHeight);
                        if ((uint)ih >= (uint)inH)
                        {
                            continue;
                        }

                        var src = row + ((long)oh * outW);
                        var target = image + ((long)ih * inW) + offW;
                        if (g.StrideWidth == 1)
                        {
                            var run = new Span<float>(target + wStart, wEnd - wStart);
                            TensorPrimitives.Add(run, new ReadOnlySpan<float>(src + wStart, wEnd - wStart), run);
                        }
                        else
                        {
                            for (var ow = wStart; ow < wEnd; ow++)
                            {
                                target[ow * g.StrideWidth] += src[ow];
                            }
                        }
                    }
                }
            }
        }
    }
}
