using System.Numerics;
using System.Runtime.Intrinsics;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Pooling gradients, plane by plane: max pooling routes each output's gradient to its window's
/// first maximum, found as the first tap equal to the forward's output (no running comparison over
/// the whole window), and its tangent reads the input's tangent there; average pooling spreads it over the window with the forward's divisor. The
/// taps inside the input are worked out once per output row and column, not checked tap by tap.
/// Windows of up to 4 undilated taps a row (ResNet's 3×3, VGG's 2×2) compare each row's taps at once
/// (<see cref="FirstMaximumByRows"/>).
/// </summary>
internal static unsafe class Pool2dBackwardKernel
{
    // Taps a row compared at once, and the rows a window may span for their equality bits to fit one ulong.
    private const int RowTaps = 4;
    private const int MaxRows = 64 / RowTaps;

    public static void Max(in Pool2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient,
        Span<float> inputGradient)
    {
        g.Validate(input.Length, outputGradient.Length);
        Validate(inputGradient.Length, input.Length);
        if (output.Length != outputGradient.Length)
        {
            throw new ArgumentException($"Max pooling's forward output has {output.Length} values, its gradient {outputGradient.Length}.");
        }

        var geometry = g;
        var rows = Windows(g.OutHeight, g.StrideHeight, g.PadTop, g.KernelHeight, g.DilationHeight, g.InHeight, g.PadBottom, false);
        var cols = Windows(g.OutWidth, g.StrideWidth, g.PadLeft, g.KernelWidth, g.DilationWidth, g.InWidth, g.PadRight, false);
        var (inPlane, outPlane) = (g.InHeight * g.InWidth, g.OutHeight * g.OutWidth);
        fixed (float* pX = input, pY = output, pDy = outputGradient, pDx = inputGradient)
        {
            var x = pX;
            var y = pY;
            var dy = pDy;
            var dx = pDx;
            CpuParallel.For(g.Batch * g.Channels, (long)outPlane * g.KernelHeight * g.KernelWidth,
                p => MaxPlane(geometry, rows, cols, x + ((long)p * inPlane), y + ((long)p * outPlane), dy + ((long)p * outPlane), dx + ((long)p * inPlane)));
        }
    }

    public static void Average(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
    {
        g.Validate(inputGradient.Length, outputGradient.Length);
        var geometry = g;
        var rows = Windows(g.OutHeight, g.StrideHeight, g.PadTop, g.KernelHeight, g.DilationHeight, g.InHeight, g.PadBottom, countIncludePad);
        var cols = Windows(g.OutWidth, g.StrideWidth, g.PadLeft, g.KernelWidth, g.DilationWidth, g.InWidth, g.PadRight, countIncludePad);
        var (inPlane, outPlane) = (g.InHeight * g.InWidth, g.OutHeight * g.OutWidth);
        fixed (float* pDy = outputGradient, pDx = inputGradient)
        {
            var dy = pDy;
            var dx = pDx;
            CpuParallel.For(g.Batch * g.Channels, (long)outPlane * g.KernelHeight * g.KernelWidth,
                p => AveragePlane(geometry, rows, cols, dy + ((long)p * outPlane), dx + ((long)p * inPlane)));
        }
    }

    private static void Validate(int gradientLength, int inputLength)
    {
        if (gradientLength != inputLength)
        {
            throw new ArgumentException($"Pooling gradient has room for {gradientLength} values, the input has {inputLength}.");
        }
    }

    /// <summary>
    /// Per output index along one axis: the window's first input index, its taps [start, end)
    /// inside the input, and the taps its divisor counts (<see cref="Pool2dGeometry.DivisorTaps"/>).
    /// </summary>
    private static (int First, int Start, int End, int Count)[] Windows(int outSize, int stride, int padBegin, int kernel, int dilation,
        int size, int padEnd, bool countIncludePad)
    {
        var windows = new (int, int, int, int)[outSize];
        for (var o = 0; o < outSize; o++)
        {
            var first = (o * stride) - padBegin;
            var (start, end) = ConvWindow.ValidRange(first, dilation, size, kernel);
            windows[o] = (first, start, end, Pool2dGeometry.DivisorTaps(first, kernel, dilation, size, padBegin, padEnd, countIncludePad));
        }

        return windows;
    }

    private static void MaxPlane(in Pool2dGeometry g, (int First, int Start, int End, int Count)[] rows,
        (int First, int Start, int End, int Count)[] cols, float* src, float* max, float* grad, float* dst)
    {
        new Span<float>(dst, g.InHeight * g.InWidth).Clear();
        for (var oh = 0; oh < rows.Length; oh++)
        {
            for (var ow = 0; ow < cols.Length; ow++)
            {
                var o = (oh * cols.Length) + ow;
                if (Argmax(g, rows[oh], cols[ow], src, max[o], oh, ow) is var best and >= 0)
                {
                    dst[best] += grad[o];
                }
            }
        }
    }

    /// <summary>
    /// Max pooling's Jacobian-vector product: each output takes the input tangent at its window's
    /// maximum, the one <see cref="Max"/> routes the gradient to.
    /// </summary>
    public static void MaxTangent(in Pool2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> inputTangent,
        Span<float> outputTangent)
    {
        g.Validate(input.Length, outputTangent.Length);
        Validate(inputTangent.Length, input.Length);
        if (output.Length != outputTangent.Length)
        {
            throw new ArgumentException($"Max pooling's forward output has {output.Length} values, its tangent {outputTangent.Length}.");
        }

        var geometry = g;
        var rows = Windows(g.OutHeight, g.StrideHeight, g.PadTop, g.KernelHeight, g.DilationHeight, g.InHeight, g.PadBottom, false);
        var cols = Windows(g.OutWidth, g.StrideWidth, g.PadLeft, g.KernelWidth, g.DilationWidth, g.InWidth, g.PadRight, false);
        var (inPlane, outPlane) = (g.InHeight * g.InWidth, g.OutHeight * g.OutWidth);
        fixed (float* pX = input, pY = output, pT = inputTangent, pDy = outputTangent)
        {
            var x = pX;
            var y = pY;
            var t = pT;
            var dy = pDy;
            CpuParallel.For(g.Batch * g.Channels, (long)outPlane * g.KernelHeight * g.KernelWidth,
                p => MaxTangentPlane(geometry, rows, cols, x + ((long)p * inPlane), y + ((long)p * outPlane), t + ((long)p * inPlane), dy + ((long)p * outPlane)));
        }
    }

    private static void MaxTangentPlane(in Pool2dGeometry g, (int First, int Start, int End, int Count)[] rows,
        (int First, int Start, int End, int Count)[] cols, float* src, float* max, float* tangent, float* result)
    {
        for (var oh = 0; oh < rows.Length; oh++)
        {
            for (var ow = 0; ow < cols.Length; ow++)
            {
                var o = (oh * cols.Length) + ow;
                var best = Argmax(g, rows[oh], cols[ow], src, max[o], oh, ow);
                result[o] = best >= 0 ? tangent[best] : 0f;
            }
        }
    }

    /// <summary>
    /// The input index the window's output came from (<see cref="FirstMaximum"/>): by whole rows where the window
    /// allows (a NaN output, which equals nothing, and a window wholly in the padding fall through to the tap-by-tap search).
    /// </summary>
    private static int Argmax(in Pool2dGeometry g, (int First, int Start, int End, int Count) r, (int First, int Start, int End, int Count) c,
        float* src, float target, int oh, int ow)
    {
        var taps = c.End - c.Start;
        var rowCount = r.End - r.Start;
        if (Vector128.IsHardwareAccelerated && g.DilationHeight == 1 && g.DilationWidth == 1 && taps is > 0 and <= RowTaps
            && rowCount is > 0 and <= MaxRows)
        {
            var start = ((r.First + r.Start) * g.InWidth) + c.First + c.Start;
            // The row loads read RowTaps floats; the last rows' may not reach past the plane.
            if (start + ((rowCount - 1) * g.InWidth) + RowTaps <= g.InHeight * g.InWidth
                && FirstMaximumByRows(src + start, g.InWidth, rowCount, taps, target) is var tap and >= 0)
            {
                return start + tap;
            }
        }

        return FirstMaximum(g, r, c, src, target, oh, ow);
    }

    /// <summary>
    /// The offset from <paramref name="window"/> (row stride <paramref name="stride"/>) of the first of
    /// <paramref name="rows"/>×<paramref name="taps"/> taps equal to <paramref name="target"/> in row-major
    /// order, or -1: each row's taps compared in one vector, the equalities of all rows gathered into one
    /// mask and its lowest bit taken, so no branch depends on where the maximum lies.
    /// </summary>
    private static int FirstMaximumByRows(float* window, int stride, int rows, int taps, float target)
    {
        var wanted = Vector128.Create(target);
        var inside = (1UL << taps) - 1;
        var equal = 0UL;
        for (var k = 0; k < rows; k++)
        {
            var bits = Vector128.Equals(Vector128.Load(window + ((long)k * stride)), wanted).ExtractMostSignificantBits();
            equal |= (bits & inside) << (k * RowTaps);
        }

        if (equal == 0)
        {
            return -1;
        }

        var first = BitOperations.TrailingZeroCount(equal);
        return ((first / RowTaps) * stride) + (first % RowTaps);
    }

    /// <summary>
    /// As PyTorch: the window's first maximum (equal to the forward's output) in window order, or its
    /// last NaN (NaN replaces any maximum); padding is never a candidate. -1 for a window wholly in the padding.
    /// </summary>
    private static int FirstMaximum(in Pool2dGeometry g, (int First, int Start, int End, int Count) r, (int First, int Start, int End, int Count) c,
        float* src, float target, int oh, int ow)
    {
        if (r.Start == r.End || c.Start == c.End)
        {
            return -1;
        }

        int inW = g.InWidth, dh = g.DilationHeight, dw = g.DilationWidth;
        var nan = float.IsNaN(target);
        var best = -1;
        for (var ki = r.Start; ki < r.End && (nan || best < 0); ki++)
        {
            var row = ((r.First + (ki * dh)) * inW) + c.First;
            for (var kj = c.Start; kj < c.End; kj++)
            {
                var i = row + (kj * dw);
                if (nan ? float.IsNaN(src[i]) : src[i] == target)
                {
                    best = i;
                    if (!nan)
                    {
                        break;
                    }
                }
            }
        }

        return best >= 0
            ? best
            : throw new ArgumentException($"Max pooling's output {target} at ({oh}, {ow}) is not in its window: not this input's forward output.");
    }

    private static void AveragePlane(in Pool2dGeometry g, (int First, int Start, int End, int Count)[] rows,
        (int First, int Start, int End, int Count)[] cols, float* grad, float* dst)
    {
        new Span<float>(dst, g.InHeight * g.InWidth).Clear();
        int inW = g.InWidth, dh = g.DilationHeight, dw = g.DilationWidth;
        for (var oh = 0; oh < rows.Length; oh++)
        {
            var r = rows[oh];
            for (var ow = 0; ow < cols.Length; ow++)
            {
                var c = cols[ow];
                var count = r.Count * c.Count;
                if (count == 0)
                {
                    continue;
                }

                var share = grad[(oh * cols.Length) + ow] / count;
                for (var ki = r.Start; ki < r.End; ki++)
                {
                    var row = dst + ((long)(r.First + (ki * dh)) * inW) + c.First;
                    for (var kj = c.Start; kj < c.End; kj++)
                    {
                        row[kj * dw] += share;
                    }
                }
            }
        }
    }
}
