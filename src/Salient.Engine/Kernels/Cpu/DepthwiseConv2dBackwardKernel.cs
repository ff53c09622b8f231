using System.Numerics.Tensors;
using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Gradients of a depthwise convolution. The input gradient is itself a stride-1 depthwise
/// convolution, run by the vectorised <see cref="DepthwiseConv2dKernel"/>: of dY, spread out by the
/// stride with zeros between, with each kernel flipped and the padding mirrored. The weight
/// gradient correlates each channel's input and output gradient, a row at a time.
/// </summary>
internal static unsafe class DepthwiseConv2dBackwardKernel
{
    public static void Data(in Conv2dGeometry g, float* weight, float* outputGradient, float* inputGradient)
    {
        var (channels, kh, kw, taps) = (g.InChannels, g.KernelHeight, g.KernelWidth, g.KernelHeight * g.KernelWidth);
        var flipped = new float[channels * taps];
        for (var i = 0; i < flipped.Length; i++)
        {
            flipped[i] = weight[(i / taps * taps) + (taps - 1 - (i % taps))];
        }

        // dx[ih] = Σ_k w[KH-1-k]·z[ih + k·dilation] over z, dY with rows oh·stride + top placed
        // between zero rows, the padding before and after mirrored around the kernel's reach.
        var (reachH, reachW) = (g.DilationHeight * (kh - 1), g.DilationWidth * (kw - 1));
        var (top, left) = (reachH - g.PadTop, reachW - g.PadLeft);
        var (bottom, right) = (reachH - g.PadBottom, reachW - g.PadRight);
        fixed (float* w = flipped)
        {
            if (g.StrideHeight == 1 && g.StrideWidth == 1 && top >= 0 && left >= 0 && bottom >= 0 && right >= 0)
            {
                var direct = new Conv2dGeometry(g.Batch, channels, g.OutHeight, g.OutWidth, channels, kh, kw, 1, 1,
                    top, left, bottom, right, g.DilationHeight, g.DilationWidth, channels);
                DepthwiseConv2dKernel.Run(direct, outputGradient, w, null, inputGradient, FusedActivation.None);
                return;
            }

            // Otherwise z is built with its padding (cropped where the mirrored padding is negative).
            var spread = new Conv2dGeometry(g.Batch, channels, g.InHeight + reachH, g.InWidth + reachW, channels, kh, kw, 1, 1,
                0, 0, 0, 0, g.DilationHeight, g.DilationWidth, channels);
            var zPlane = spread.InHeight * spread.InWidth;
            var buffer = HostArrayPool.Shared.Rent(g.Batch * channels * zPlane);
            try
            {
                fixed (float* z = buffer)
                {
                    var source = outputGradient;
                    var target = z;
                    var geometry = g;
                    CpuParallel.For(g.Batch * channels, zPlane, p => Spread(geometry, source, target + ((long)p * zPlane), p, top, left));
                    DepthwiseConv2dKernel.Run(spread, z, w, null, inputGradient, FusedActivation.None);
                }
            }
            finally
            {
                HostArrayPool.Shared.Return(buffer);
            }
        }
    }

    // Plane p of dY into z: row oh to oh·stride + top, column ow to ow·stride + left, zeros elsewhere.
    private static void Spread(in Conv2dGeometry g, float* dy, float* z, int p, int top, int left)
    {
        var (zh, zw) = (g.InHeight + (g.DilationHeight * (g.KernelHeight - 1)), g.InWidth + (g.DilationWidth * (g.KernelWidth - 1)));
        new Span<float>(z, zh * zw).Clear();
        var src = dy + ((long)p * g.OutHeight * g.OutWidth);
        var (owStart, owEnd) = ConvWindow.ValidRange(left, g.StrideWidth, zw, g.OutWidth);
        for (var oh = 0; oh < g.OutHeight; oh++)
        {
            var row = (oh * g.StrideHeight) + top;
            if ((uint)row >= (uint)zh)
            {
                continue;
            }

            var dst = z + ((long)row * zw) + left;
            var grad = src + ((long)oh * g.OutWidth);
            for (var ow = owStart; ow < owEnd; ow++)
            {
                dst[ow * g.StrideWidth] = grad[ow];
            }
        }
    }

    public static void Weights(in Conv2dGeometry g, float* input, float* outputGradient, float* weightGradient)
    {
        var geometry = g;
        var x = input;
        var dy = outputGradient;
        var dw = weightGradient;
        var taps = g.KernelHeight * g.KernelWidth;
        CpuParallel.For(g.InChannels, (long)g.Batch * g.OutHeight * g.OutWidth * taps,
            c => Channel(geometry, x, dy, c, dw + ((long)c * taps)));
    }

    // One channel's taps, Σ over images and outputs of dY·x at the input position each tap reads,
    // a row of dY at a time against the rows of x its taps read (while they are in L1).
    private static void Channel(in Conv2dGeometry g, float* input, float* outputGradient, int c, float* sums)
    {
        int inW = g.InWidth, outW = g.OutWidth, kw = g.KernelWidth, sw = g.StrideWidth;
        var (inPlane, outPlane) = (g.InHeight * inW, g.OutHeight * outW);
        new Span<float>(sums, g.KernelHeight * kw).Clear();
        Span<(int Start, int End)> columns = stackalloc (int, int)[kw];
        for (var kj = 0; kj < kw; kj++)
        {
            columns[kj] = ConvWindow.ValidRange((kj * g.DilationWidth) - g.PadLeft, sw, inW, outW);
        }

        for (var n = 0; n < g.Batch; n++)
        {
            var plane = ((long)n * g.InChannels) + c;
            var x = input + (plane * inPlane);
            var dy = outputGradient + (plane * outPlane);
            for (var oh = 0; oh < g.OutHeight; oh++)
            {
                var ih0 = (oh * g.StrideHeight) - g.PadTop;
                var (kiStart, kiEnd) = ConvWindow.ValidRange(ih0, g.DilationHeight, g.InHeight, g.KernelHeight);
                var grad = dy + ((long)oh * outW);
                for (var ki = kiStart; ki < kiEnd; ki++)
                {
                    var row = x + ((long)(ih0 + (ki * g.DilationHeight)) * inW);
                    for (var kj = 0; kj < kw; kj++)
                    {
                        var (wStart, wEnd) = columns[kj];
                        var src = row + (kj * g.DilationWidth) - g.PadLeft;
                        var sum = 0f;
                        if (sw == 1)
                        {
                            sum = TensorPrimitives.Dot(new ReadOnlySpan<float>(grad + wStart, wEnd - wStart), new ReadOnlySpan<float>(src + wStart, wEnd - wStart));
                        }
                        else
                        {
                            for (var ow = wStart; ow < wEnd; ow++)
                            {
                                sum += grad[ow] * src[ow * sw];
                            }
                        }

                        sums[(ki * kw) + kj] += sum;
                    }
                }
            }
        }
    }
}
