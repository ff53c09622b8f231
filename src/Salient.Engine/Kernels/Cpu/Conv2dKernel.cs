using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Convolution as GEMM: per image and group, out[OC/g, OH·OW] = W[OC/g, C/g·KH·KW] · col[C/g·KH·KW, OH·OW].
/// 1×1 stride-1 unpadded convolutions use the input plane as the column matrix; depthwise ones go
/// to <see cref="StridedDepthwise3x3Kernel"/> (3×3, stride 2, small planes) with AVX-512 (unless the GEMM is held to 256-bit
/// vectors), else to <see cref="PaddedDepthwiseConv2dKernel"/> at the GEMM's vector width (AVX-512 or AVX2), and to
/// <see cref="DepthwiseConv2dKernel"/> where neither is accelerated, unpadded 1×1 ones (strided too) up to 2048 channels deep to
/// <see cref="PointwiseConv2dKernel"/> at the GEMM's vector width, 3×3 stride-1 ones to <see cref="Winograd4x4Conv2dKernel"/> (large planes, few filters) or
/// <see cref="WinogradConv2dKernel"/>. The rest (strided, padded, larger windows) unfold their windows: straight
/// into the managed GEMM's panels (<see cref="WindowPanels"/>), else through <see cref="Im2Col"/>. Bias and activation are the
/// GEMM's epilogue, applied to each strip of the output as it completes.
/// Accumulating into a residual (a fused residual Add) is the GEMM's β = 1, so it costs no extra pass.
/// Small output planes put several images' column matrices side by side in one GEMM (see
/// <see cref="ImagesPerGemm"/>), its result copied out to each image afterwards.
/// With a <see cref="WeightCache"/> that keeps them, the weights are packed once per model.
/// </summary>
internal static unsafe class Conv2dKernel
{
    public static void Run(CpuGemm gemm, in Conv2dGeometry g, ReadOnlySpan<float> input, WeightCache weights,
        ReadOnlySpan<float> bias, Span<float> output, in FusedActivation activation, bool accumulate = false)
    {
        g.Validate(input.Length, weights.Length, bias.Length, output.Length);
        if (g.Batch == 0)
        {
            return;
        }

        fixed (float* pIn = input, pBias = bias, pOut = output)
        {
            if (ConvWindow.IsDepthwise(g))
            {
                // Depthwise filters are small and read as they are on every call.
                using var pinned = weights.Pin();
                var pW = (float*)pinned.Pointer;
                if (gemm.Kernels == ManagedGemm.Kernels.Vector512 && StridedDepthwise3x3Kernel.Applies(g))
                {
                    StridedDepthwise3x3Kernel.Run(g, pIn, pW, pBias, pOut, activation, accumulate);
                }
                else if (PaddedDepthwiseConv2dKernel.IsSupported(gemm.Kernels))
                {
                    PaddedDepthwiseConv2dKernel.Run(g, pIn, pW, pBias, pOut, activation, accumulate, gemm.Kernels);
                }
                else if (accumulate)
                {
                    AccumulateDepthwise(g, pIn, pW, pBias, output, activation);
                }
                else
                {
                    DepthwiseConv2dKernel.Run(g, pIn, pW, pBias, pOut, activation);
                }

                return;
            }

            if (PointwiseConv2dKernel.Applies(g, gemm.Kernels))
            {
                PointwiseConv2dKernel.Run(gemm.Kernels, g, pIn, weights, pBias, pOut, activation, accumulate);
                return;
            }

            if (Winograd4x4Conv2dKernel.Applies(g, gemm, weights))
            {
                Winograd4x4Conv2dKernel.Run(gemm, g, pIn, weights, pBias, pOut, activation, accumulate);
                return;
            }

            if (WinogradConv2dKernel.Applies(g, gemm, weights))
            {
                WinogradConv2dKernel.Run(gemm, g, pIn, weights, pBias, pOut, activation, accumulate);
                return;
            }

            using var lhs = ConvGroupWeights.For(gemm, g, weights, transposed: false);
            var perGemm = ImagesPerGemm(g.Batch, g.OutHeight * g.OutWidth);
            var windows = WindowPanels.Applies(gemm, g);
            gemm.ForEachImage((g.Batch + perGemm - 1) / perGemm, new Job(g, pIn, lhs, pBias, pOut, activation, accumulate, perGemm, windows).Images);
        }
    }

    // Columns a GEMM needs to run near its peak: ResNet's 7×7 planes (49 columns: one 32-wide panel and
    // a half) ran at 100–150 GFLOP/s one image per GEMM, each weight panel fetched for two micro-kernels.
    private const int TargetColumns = 384;

    /// <summary>
    /// How many images share one GEMM: enough for <see cref="TargetColumns"/> columns, but no more than
    /// leaves every thread a share of the batch (the images' GEMMs run on separate threads).
    /// </summary>
    private static int ImagesPerGemm(int batch, int outPlane) =>
        Math.Max(1, Math.Min((TargetColumns + outPlane - 1) / Math.Max(outPlane, 1), (batch + CpuParallel.MaxThreads - 1) / CpuParallel.MaxThreads));

    // The depthwise kernel writes its output directly; residuals after depthwise layers are rare
    // enough (MobileNets add after the 1×1 projection) that a scratch output and one pass will do.
    private static void AccumulateDepthwise(in Conv2dGeometry g, float* input, float* weight, float* bias, Span<float> output, in FusedActivation activation)
    {
        var scratch = HostArrayPool.Shared.Rent(output.Length);
        try
        {
            fixed (float* pScratch = scratch)
            {
                DepthwiseConv2dKernel.Run(g, input, weight, bias, pScratch, FusedActivation.None);
            }

            var sum = scratch.AsSpan(0, output.Length);
            System.Numerics.Tensors.TensorPrimitives.Add(sum, output, sum);
            ActivationKernel.ApplyParallel(activation, sum, output);
        }
        finally
        {
            HostArrayPool.Shared.Return(scratch);
        }
    }

    private readonly struct Job(Conv2dGeometry g, float* input, ConvGroupWeights weights, float* bias, float* output, FusedActivation activation,
        bool accumulate, int perGemm, bool windows)
    {
        /// <summary>Images [index·perGemm, +perGemm): one GEMM per group over their columns side by side.</summary>
        public void Images(int index, bool singleThreaded)
        {
            var first = index * perGemm;
            var count = Math.Min(perGemm, g.Batch - first);
            var cg = g.InChannels / g.Groups;
            var ocg = g.OutChannels / g.Groups;
            long inPlane = g.InHeight * g.InWidth;
            var outPlane = g.OutHeight * g.OutWidth;
            var columns = count * outPlane;
            var kdim = cg * g.KernelHeight * g.KernelWidth;
            var pointwise = ConvWindow.IsPointwise(g);

            // One pointwise image is its own column matrix, and window panels are packed from the input
            // (see WindowPanels); one image's GEMM writes its output in place.
            var colBuffer = (pointwise && count == 1) || windows ? null : HostArrayPool.Shared.Rent(kdim * columns);
            var wideBuffer = count == 1 ? null : HostArrayPool.Shared.Rent(ocg * columns);
            try
            {
                fixed (float* col = colBuffer, wide = wideBuffer)
                {
                    for (var grp = 0; grp < g.Groups; grp++)
                    {
                        var src = input + ((long)first * g.InChannels * inPlane) + (grp * cg * inPlane);
                        var result = output + ((long)first * g.OutChannels * outPlane) + ((long)grp * ocg * outPlane);
                        for (var i = 0; i < count && col != null; i++)
                        {
                            var image = src + (i * g.InChannels * inPlane);
                            if (pointwise)
                            {
                                Gather(image, col + ((long)i * outPlane), columns, cg, outPlane);
                            }
                            else
                            {
                                Im2Col.Run(g, cg, image, col + ((long)i * outPlane), columns);
                            }
                        }

                        var c = wide == null ? result : wide;
                        if (wide != null && accumulate)
                        {
                            for (var i = 0; i < count; i++)
                            {
                                Gather(result + ((long)i * g.OutChannels * outPlane), wide + ((long)i * outPlane), columns, ocg, outPlane);
                            }
                        }

                        var groupBias = bias == null ? null : bias + ((long)grp * ocg);
                        if (windows)
                        {
                            using var panels = new WindowPanels(g, cg, src, count, !singleThreaded);
                            panels.Multiply(weights[grp], c, columns, singleThreaded, accumulate, activation, groupBias);
                        }
                        else
                        {
                            CpuGemm.Multiply(weights[grp], columns, col == null ? src : col, columns, c, columns, singleThreaded, accumulate, activation, groupBias);
                        }
                        for (var i = 0; i < count && wide != null; i++)
                        {
                            Scatter(wide + ((long)i * outPlane), columns, result + ((long)i * g.OutChannels * outPlane), ocg, outPlane);
                        }
                    }
                }
            }
            finally
            {
                if (colBuffer is not null)
                {
                    HostArrayPool.Shared.Return(colBuffer);
                }

                if (wideBuffer is not null)
                {
                    HostArrayPool.Shared.Return(wideBuffer);
                }
            }
        }

        // rows × plane values from consecutive planes at src into rows rowStride apart at dst.
        private static void Gather(float* src, float* dst, int rowStride, int rows, int plane)
        {
            for (var r = 0; r < rows; r++)
            {
                new ReadOnlySpan<float>(src + ((long)r * plane), plane).CopyTo(new Span<float>(dst + ((long)r * rowStride), plane));
            }
        }

        // The inverse of Gather: rows rowStride apart at src into consecutive planes at dst.
        private static void Scatter(float* src, int rowStride, float* dst, int rows, int plane)
        {
            for (var r = 0; r < rows; r++)
            {
                new ReadOnlySpan<float>(src + ((long)r * rowStride), plane).CopyTo(new Span<float>(dst + ((long)r * plane), plane));
            }
        }
    }
}
