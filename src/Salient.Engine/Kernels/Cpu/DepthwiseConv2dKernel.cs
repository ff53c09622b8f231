using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Convolution with one filter per channel (groups = in = out channels): a direct loop, because
/// im2col would build a K-row matrix for a GEMM with a single output row. Eight outputs of a row
/// accumulate in a register over all taps; the columns whose taps may read padding, rows too
/// narrow for a vector, and strides other than 1 and 2 take a scalar path.
/// </summary>
internal static unsafe class DepthwiseConv2dKernel
{
    private const int Lanes = 8;

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
        int inH = g.InHeight, inW = g.InWidth, outW = g.OutWidth, kw = g.KernelWidth;
        int sw = g.StrideWidth, dw = g.DilationWidth;
        var firstOff = -g.PadLeft;
        var lastOff = ((kw - 1) * dw) - g.PadLeft;

        // Columns whose every tap lies inside the row; the vector path also reads one float past
        // the last tap of its last lane when the stride is 2, so it stops a column earlier there.
        var interiorStart = ConvWindow.ValidRange(firstOff, sw, inW, outW).Start;
        var interiorEnd = Math.Max(interiorStart, ConvWindow.ValidRange(lastOff, sw, inW, outW).End);
        var vectorEnd = sw switch
        {
            1 => interiorEnd,
            2 => Math.Max(interiorStart, Math.Min(interiorEnd, ConvWindow.ValidRange(lastOff + 1, sw, inW, outW).End)),
            _ => interiorStart,
        };

        for (var oh = 0; oh < g.OutHeight; oh++)
        {
            var outRow = dst + ((long)oh * outW);
            var ih0 = (oh * g.StrideHeight) - g.PadTop;

            // Kernel rows inside the input for this output row.
            var (kiStart, kiEnd) = ConvWindow.ValidRange(ih0, g.DilationHeight, inH, g.KernelHeight);
            var ow = 0;
            if (Vector256.IsHardwareAccelerated && vectorEnd - interiorStart >= Lanes)
            {
                // Four blocks at a time, so four FMA chains hide each other's latency.
                var step = Lanes * sw;
                for (ow = interiorStart; ow + (4 * Lanes) <= vectorEnd; ow += 4 * Lanes)
                {
                    Vector256<float> acc0 = default, acc1 = default, acc2 = default, acc3 = default;
                    for (var ki = kiStart; ki < kiEnd; ki++)
                    {
                        var row = src + ((long)(ih0 + (ki * g.DilationHeight)) * inW) + (ow * sw) + firstOff;
                        var wk = w + (ki * kw);
                        for (var kj = 0; kj < kw; kj++)
                        {
                            var p = row + (kj * dw);
                            var wv = Vector256.Create(wk[kj]);
                            acc0 = Vector256.MultiplyAddEstimate(Load(p, sw), wv, acc0);
                            acc1 = Vector256.MultiplyAddEstimate(Load(p + step, sw), wv, acc1);
                            acc2 = Vector256.MultiplyAddEstimate(Load(p + (2 * step), sw), wv, acc2);
                            acc3 = Vector256.MultiplyAddEstimate(Load(p + (3 * step), sw), wv, acc3);
                        }
                    }

                    acc0.Store(outRow + ow);
                    acc1.Store(outRow + ow + Lanes);
                    acc2.Store(outRow + ow + (2 * Lanes));
                    acc3.Store(outRow + ow + (3 * Lanes));
                }

                // The last block overlaps the one before instead of leaving a scalar tail; outputs
                // are stored, not accumulated, so computing some twice is harmless.
                for (; ow < vectorEnd; ow += Lanes)
                {
                    var x = Math.Min(ow, vectorEnd - Lanes);
                    var acc = Vector256<float>.Zero;
                    for (var ki = kiStart; ki < kiEnd; ki++)
                    {
                        var row = src + ((long)(ih0 + (ki * g.DilationHeight)) * inW) + (x * sw) + firstOff;
                        var wk = w + (ki * kw);
                        for (var kj = 0; kj < kw; kj++)
                        {
                            acc = Vector256.MultiplyAddEstimate(Load(row + (kj * dw), sw), Vector256.Create(wk[kj]), acc);
                        }
                    }

                    acc.Store(outRow + x);
                }

                for (var x = 0; x < interiorStart; x++)
                {
                    outRow[x] = Point(g, src, w, ih0, kiStart, kiEnd, x);
                }

                ow = vectorEnd;
            }

            for (; ow < outW; ow++)
            {
                outRow[ow] = Point(g, src, w, ih0, kiStart, kiEnd, ow);
            }
        }
    }

    // Eight consecutive floats, or the even ones of sixteen for stride 2.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Load(float* p, int stride)
    {
        if (stride == 1)
        {
            return Vector256.Load(p);
        }

        if (Vector512.IsHardwareAccelerated)
        {
            return Vector512.Shuffle(Vector512.Load(p), Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15)).GetLower();
        }

        return Vector256.Create(p[0], p[2], p[4], p[6], p[8], p[10], p[12], p[14]);
    }

    // One output from the taps inside the input (a bounds check per tap is cheaper than dividing
    // out the valid range for the few taps of a depthwise kernel).
    private static float Point(in Conv2dGeometry g, float* src, float* w, int ih0, int kiStart, int kiEnd, int ow)
    {
        int inW = g.InWidth, kw = g.KernelWidth, dw = g.DilationWidth;
        var iw0 = (ow * g.StrideWidth) - g.PadLeft;
        var sum = 0f;
        for (var ki = kiStart; ki < kiEnd; ki++)
        {
            var row = src + ((long)(ih0 + (ki * g.DilationHeight)) * inW);
            var wk = w + (ki * kw);
            for (var kj = 0; kj < kw; kj++)
            {
                var iw = iw0 + (kj * dw);
                if ((uint)iw < (uint)inW)
                {
                    sum += row[iw] * wk[kj];
                }
            }
        }

        return sum;
    }
}
