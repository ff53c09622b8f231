namespace Salient.Engine.Kernels.Cpu;

/// <summary>Max pooling over each plane; taps in the padding are skipped, so padding never wins; NaN propagates as in PyTorch.</summary>
internal static unsafe class MaxPool2dKernel
{
    public static void Run(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output)
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
                p => Plane(geometry, src + ((long)p * inPlane), dst + ((long)p * outPlane)));
        }
    }

    // Separable: the rows of each window are first reduced to one row with vector max, then the
    // columns are reduced along that row; edge columns check bounds, the interior does not.
    private static void Plane(in Pool2dGeometry g, float* src, float* dst)
    {
        int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
        int kh = g.KernelHeight, kw = g.KernelWidth, sh = g.StrideHeight, sw = g.StrideWidth;
        int dh = g.DilationHeight, dw = g.DilationWidth, padTop = g.PadTop, padLeft = g.PadLeft;
        var lastTap = (kw - 1) * dw;
        Span<float> rowMax = inW <= 4096 ? stackalloc float[inW] : new float[inW];
        for (var oh = 0; oh < outH; oh++)
        {
            var h0 = (oh * sh) - padTop;
            var rows = 0;
            for (var ki = 0; ki < kh; ki++)
            {
                var ih = h0 + (ki * dh);
                if ((uint)ih >= (uint)inH)
                {
                    continue;
                }

                var row = new ReadOnlySpan<float>(src + ((long)ih * inW), inW);
                if (rows++ == 0)
                {
                    row.CopyTo(rowMax);
                }
                else
                {
                    System.Numerics.Tensors.TensorPrimitives.Max(rowMax, row, rowMax);
                }
            }

            var output = dst + ((long)oh * outW);
            if (rows == 0)
            {
                new Span<float>(output, outW).Fill(float.NegativeInfinity);
                continue;
            }

            for (var ow = 0; ow < outW; ow++)
            {
                var w0 = (ow * sw) - padLeft;
                var max = float.NegativeInfinity;
                if (w0 >= 0 && w0 + lastTap < inW)
                {
                    for (var kj = 0; kj <= lastTap; kj += dw)
                    {
                        max = Math.Max(max, rowMax[w0 + kj]);
                    }
                }
                else
                {
                    for (var kj = 0; kj <= lastTap; kj += dw)
                    {
                        var iw = w0 + kj;
                        if ((uint)iw < (uint)inW)
                        {
                            max = Math.Max(max, rowMax[iw]);
                        }
                    }
                }

                output[ow] = max;
            }
        }
    }
}
