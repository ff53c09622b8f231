using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Convolution with one filter per channel (groups = in = out channels): a direct loop, because
/// im2col would build a K-row matrix for a GEMM with a single output row. Stride-1 rows are
/// vectorised along the width.
/// </summary>
internal static unsafe class DepthwiseConv2dKernel
{
    public static void Run(in Conv2dGeometry g, float* input, float* weight, float* bias, float* output, in FusedActivation activation)
    {
        var geometry = g;
        var act = activation;
        var inPlane = g.InHeight * g.InWidth;
        var outPlane = g.OutHeight * g.OutWidth;
        var taps = g.KernelHeight * g.KernelWidth;
        CpuParallel.For(g.Batch * g.OutChannels, (long)outPlane * taps, p =>
        {
            var c = p % geometry.OutChannels;
            var dst = output + ((long)p * outPlane);
            Plane(geometry, input + ((long)p * inPlane), weight + ((long)c * taps), dst);
            var plane = new Span<float>(dst, outPlane);
            ActivationKernel.Apply(act, plane, plane, 1f, bias == null ? 0f : bias[c]);
        });
    }

    private static void Plane(in Conv2dGeometry g, float* src, float* w, float* dst)
    {
        int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        new Span<float>(dst, outH * outW).Clear();
        for (var oh = 0; oh < outH; oh++)
        {
            var outRow = dst + ((long)oh * outW);
            for (var ki = 0; ki < g.KernelHeight; ki++)
            {
                var ih = (oh * g.StrideHeight) - g.PadTop + (ki * g.DilationHeight);
                if ((uint)ih >= (uint)inH)
                {
                    continue;
                }

                for (var kj = 0; kj < g.KernelWidth; kj++)
                {
                    var wv = w[(ki * g.KernelWidth) + kj];
                    var offW = (kj * g.DilationWidth) - g.PadLeft;
                    var (start, end) = ConvWindow.ValidRange(offW, g.StrideWidth, inW, outW);
                    var inRow = src + ((long)ih * inW) + offW;
                    if (g.StrideWidth == 1)
                    {
                        var o = new Span<float>(outRow + start, end - start);
                        TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(inRow + start, end - start), wv, o, o);
                    }
                    else
                    {
                        for (var ow = start; ow < end; ow++)
                        {
                            outRow[ow] += wv * inRow[ow * g.StrideWidth];
                        }
                    }
                }
            }
        }
    }
}
