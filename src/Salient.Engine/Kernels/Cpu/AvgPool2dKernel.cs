namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Average pooling as PyTorch and ONNX define it: the sum covers taps inside the input; the divisor
/// counts them, or with count_include_pad also the taps in the padding, but never taps past the
/// padded bounds (which ceil_mode windows can reach).
/// </summary>
internal static unsafe class AvgPool2dKernel
{
    public static void Run(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> input, Span<float> output)
    {
        g.Validate(input.Length, output.Length);
        var geometry = g;
        var inPlane = g.InHeight * g.InWidth;
        var outPlane = g.OutHeight * g.OutWidth;
        fixed (float* pIn = input, pOut = output)
        {
            var src = pIn;
            var dst = pOut;
            CpuParallel.For(g.Batch * g.Channels, (long)outPlane * g.KernelHeight * g.KernelWidth,
                p => Plane(geometry, countIncludePad, src + ((long)p * inPlane), dst + ((long)p * outPlane)));
        }
    }

    private static void Plane(in Pool2dGeometry g, bool countIncludePad, float* src, float* dst)
    {
        for (var oh = 0; oh < g.OutHeight; oh++)
        {
            var h0 = (oh * g.StrideHeight) - g.PadTop;
            var rows = Pool2dGeometry.DivisorTaps(h0, g.KernelHeight, g.DilationHeight, g.InHeight, g.PadTop, g.PadBottom, countIncludePad);
            for (var ow = 0; ow < g.OutWidth; ow++)
            {
                var w0 = (ow * g.StrideWidth) - g.PadLeft;
                var cols = Pool2dGeometry.DivisorTaps(w0, g.KernelWidth, g.DilationWidth, g.InWidth, g.PadLeft, g.PadRight, countIncludePad);
                var sum = 0f;
                for (var ki = 0; ki < g.KernelHeight; ki++)
                {
                    var ih = h0 + (ki * g.DilationHeight);
                    if ((uint)ih >= (uint)g.InHeight)
                    {
                        continue;
                    }

                    var row = src + ((long)ih * g.InWidth);
                    for (var kj = 0; kj < g.KernelWidth; kj++)
                    {
                        var iw = w0 + (kj * g.DilationWidth);
                        if ((uint)iw < (uint)g.InWidth)
                        {
                            sum += row[iw];
                        }
                    }
                }

                var count = rows * cols;
                dst[(oh * g.OutWidth) + ow] = count == 0 ? 0f : sum / count;
            }
        }
    }
}
