using System.Buffers;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Convolution gradients as GEMMs, per image and group: the input gradient is
/// col2im(Wᵀ·dY) (Wᵀ·dY directly for 1×1 stride-1 unpadded convolutions); the weight gradient is
/// Σ_images dY·im2col(x)ᵀ. Depthwise convolutions use direct loops.
/// </summary>
internal static unsafe class Conv2dBackwardKernel
{
    public static void Data(CpuGemm gemm, in Conv2dGeometry g, ReadOnlySpan<float> weight, ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
    {
        ConvWindow.Validate(g, inputGradient.Length, weight.Length, 0, outputGradient.Length);
        inputGradient.Clear();
        var cg = g.InChannels / g.Groups;
        var ocg = g.OutChannels / g.Groups;
        var inPlane = g.InHeight * g.InWidth;
        var outPlane = g.OutHeight * g.OutWidth;
        var kdim = cg * g.KernelHeight * g.KernelWidth;
        var pointwise = IsPointwise(g);
        fixed (float* pW = weight, pDy = outputGradient, pDx = inputGradient)
        {
            if (g.Groups == g.InChannels && g.Groups == g.OutChannels)
            {
                DepthwiseData(g, pW, pDy, pDx);
                return;
            }

            var scratch = pointwise ? null : ArrayPool<float>.Shared.Rent(kdim * outPlane);
            try
            {
                fixed (float* col = scratch)
                {
                    for (var n = 0; n < g.Batch; n++)
                    {
                        for (var grp = 0; grp < g.Groups; grp++)
                        {
                            var w = pW + ((long)grp * ocg * kdim);
                            var dy = pDy + ((((long)n * g.OutChannels) + (grp * ocg)) * outPlane);
                            var dx = pDx + ((((long)n * g.InChannels) + (grp * cg)) * inPlane);
                            gemm.Sgemm(true, false, kdim, outPlane, ocg, 1f, w, kdim, dy, outPlane, 0f, pointwise ? dx : col, outPlane);
                            if (!pointwise)
                            {
                                Col2Im.Run(g, cg, col, dx);
                            }
                        }
                    }
                }
            }
            finally
            {
                if (scratch is not null)
                {
                    ArrayPool<float>.Shared.Return(scratch);
                }
            }
        }
    }

    public static void Weights(CpuGemm gemm, in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> outputGradient,
        Span<float> weightGradient, Span<float> biasGradient)
    {
        ConvWindow.Validate(g, input.Length, weightGradient.Length, biasGradient.Length, outputGradient.Length);
        weightGradient.Clear();
        var cg = g.InChannels / g.Groups;
        var ocg = g.OutChannels / g.Groups;
        var inPlane = g.InHeight * g.InWidth;
        var outPlane = g.OutHeight * g.OutWidth;
        var kdim = cg * g.KernelHeight * g.KernelWidth;
        var pointwise = IsPointwise(g);
        var scratch = pointwise ? null : ArrayPool<float>.Shared.Rent(kdim * outPlane);
        try
        {
            fixed (float* pX = input, pDy = outputGradient, pDw = weightGradient, col = scratch)
            {
                for (var n = 0; n < g.Batch; n++)
                {
                    for (var grp = 0; grp < g.Groups; grp++)
                    {
                        var x = pX + ((((long)n * g.InChannels) + (grp * cg)) * inPlane);
                        var dy = pDy + ((((long)n * g.OutChannels) + (grp * ocg)) * outPlane);
                        if (!pointwise)
                        {
                            Im2Col.Run(g, cg, x, col);
                        }

                        gemm.Sgemm(false, true, ocg, kdim, outPlane, 1f, dy, outPlane, pointwise ? x : col, outPlane, 1f,
                            pDw + ((long)grp * ocg * kdim), kdim);
                    }
                }
            }
        }
        finally
        {
            if (scratch is not null)
            {
                ArrayPool<float>.Shared.Return(scratch);
            }
        }

        if (!biasGradient.IsEmpty)
        {
            biasGradient.Clear();
            for (var n = 0; n < g.Batch; n++)
            {
                for (var oc = 0; oc < g.OutChannels; oc++)
                {
                    biasGradient[oc] += System.Numerics.Tensors.TensorPrimitives.Sum(outputGradient.Slice(((n * g.OutChannels) + oc) * outPlane, outPlane));
                }
            }
        }
    }

    private static bool IsPointwise(in Conv2dGeometry g) =>
        g.KernelHeight == 1 && g.KernelWidth == 1 && g.StrideHeight == 1 && g.StrideWidth == 1
        && g.PadTop == 0 && g.PadLeft == 0 && g.PadBottom == 0 && g.PadRight == 0;

    private static void DepthwiseData(Conv2dGeometry g, float* w, float* dy, float* dx)
    {
        var inPlane = g.InHeight * g.InWidth;
        var outPlane = g.OutHeight * g.OutWidth;
        var taps = g.KernelHeight * g.KernelWidth;
        CpuParallel.For(g.Batch * g.InChannels, (long)outPlane * taps, p =>
        {
            var c = p % g.InChannels;
            var kernel = w + ((long)c * taps);
            var source = dy + ((long)p * outPlane);
            var target = dx + ((long)p * inPlane);
            for (var oh = 0; oh < g.OutHeight; oh++)
            {
                for (var ki = 0; ki < g.KernelHeight; ki++)
                {
                    var ih = (oh * g.StrideHeight) - g.PadTop + (ki * g.DilationHeight);
                    if ((uint)ih >= (uint)g.InHeight)
                    {
                        continue;
                    }

                    for (var kj = 0; kj < g.KernelWidth; kj++)
                    {
                        var wv = kernel[(ki * g.KernelWidth) + kj];
                        var offW = (kj * g.DilationWidth) - g.PadLeft;
                        var (wStart, wEnd) = ConvWindow.ValidRange(offW, g.StrideWidth, g.InWidth, g.OutWidth);
                        var row = target + ((long)ih * g.InWidth) + offW;
                        var grad = source + ((long)oh * g.OutWidth);
                        for (var ow = wStart; ow < wEnd; ow++)
                        {
                            row[ow * g.StrideWidth] += wv * grad[ow];
                        }
                    }
                }
            }
        });
    }
}
