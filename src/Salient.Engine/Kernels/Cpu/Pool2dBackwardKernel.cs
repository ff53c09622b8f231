namespace Salient.Engine.Kernels.Cpu;

/// <summary>Pooling gradients, plane by plane: max pooling routes each output's gradient to its window's first maximum; average pooling spreads it over the window with the forward's divisor.</summary>
internal static unsafe class Pool2dBackwardKernel
{
    public static void Max(in Pool2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
    {
        PoolWindow.Validate(g, input.Length, outputGradient.Length);
        inputGradient.Clear();
        var geometry = g;
        var (inPlane, outPlane) = (g.InHeight * g.InWidth, g.OutHeight * g.OutWidth);
        fixed (float* pX = input, pDy = outputGradient, pDx = inputGradient)
        {
            var x = pX;
            var dy = pDy;
            var dx = pDx;
            CpuParallel.For(g.Batch * g.Channels, (long)outPlane * g.KernelHeight * g.KernelWidth, p =>
            {
                var src = x + ((long)p * inPlane);
                var grad = dy + ((long)p * outPlane);
                var dst = dx + ((long)p * inPlane);
                for (var oh = 0; oh < geometry.OutHeight; oh++)
                {
                    for (var ow = 0; ow < geometry.OutWidth; ow++)
                    {
                        // Strictly greater, in window order: the first maximum wins, as in PyTorch; padding never does.
                        var best = -1;
                        var max = float.NegativeInfinity;
                        for (var ki = 0; ki < geometry.KernelHeight; ki++)
                        {
                            var ih = (oh * geometry.StrideHeight) - geometry.PadTop + (ki * geometry.DilationHeight);
                            if ((uint)ih >= (uint)geometry.InHeight)
                            {
                                continue;
                            }

                            for (var kj = 0; kj < geometry.KernelWidth; kj++)
                            {
                                var iw = (ow * geometry.StrideWidth) - geometry.PadLeft + (kj * geometry.DilationWidth);
                                if ((uint)iw < (uint)geometry.InWidth)
                                {
                                    var value = src[(ih * geometry.InWidth) + iw];
                                    if (value > max || float.IsNaN(value) || best < 0)
                                    {
                                        max = value;
                                        best = (ih * geometry.InWidth) + iw;
                                    }
                                }
                            }
                        }

                        if (best >= 0)
                        {
                            dst[best] += grad[(oh * geometry.OutWidth) + ow];
                        }
                    }
                }
            });
        }
    }

    public static void Average(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
    {
        PoolWindow.Validate(g, inputGradient.Length, outputGradient.Length);
        inputGradient.Clear();
        var geometry = g;
        var (inPlane, outPlane) = (g.InHeight * g.InWidth, g.OutHeight * g.OutWidth);
        fixed (float* pDy = outputGradient, pDx = inputGradient)
        {
            var dy = pDy;
            var dx = pDx;
            CpuParallel.For(g.Batch * g.Channels, (long)outPlane * g.KernelHeight * g.KernelWidth, p =>
            {
                var grad = dy + ((long)p * outPlane);
                var dst = dx + ((long)p * inPlane);
                for (var oh = 0; oh < geometry.OutHeight; oh++)
                {
                    var h0 = (oh * geometry.StrideHeight) - geometry.PadTop;
                    var rows = AvgPool2dKernel.Taps(h0, geometry.KernelHeight, geometry.DilationHeight, geometry.InHeight, geometry.PadTop, geometry.PadBottom, countIncludePad);
                    for (var ow = 0; ow < geometry.OutWidth; ow++)
                    {
                        var w0 = (ow * geometry.StrideWidth) - geometry.PadLeft;
                        var cols = AvgPool2dKernel.Taps(w0, geometry.KernelWidth, geometry.DilationWidth, geometry.InWidth, geometry.PadLeft, geometry.PadRight, countIncludePad);
                        var count = rows * cols;
                        if (count == 0)
                        {
                            continue;
                        }

                        var share = grad[(oh * geometry.OutWidth) + ow] / count;
                        for (var ki = 0; ki < geometry.KernelHeight; ki++)
                        {
                            var ih = h0 + (ki * geometry.DilationHeight);
                            if ((uint)ih >= (uint)geometry.InHeight)
                            {
                                continue;
                            }

                            for (var kj = 0; kj < geometry.KernelWidth; kj++)
                            {
                                var iw = w0 + (kj * geometry.DilationWidth);
                                if ((uint)iw < (uint)geometry.InWidth)
                                {
                                    dst[(ih * geometry.InWidth) + iw] += share;
                                }
                            }
                        }
                    }
                }
            });
        }
    }
}
