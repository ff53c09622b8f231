using System.Buffers;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Convolution as GEMM: per image and group, out[OC/g, OH·OW] = W[OC/g, C/g·KH·KW] · col[C/g·KH·KW, OH·OW].
/// 1×1 stride-1 unpadded convolutions use the input plane as the column matrix; depthwise ones go
/// to <see cref="PaddedDepthwiseConv2dKernel"/> with AVX-512 (unless the GEMM is held to 256-bit
/// vectors) and to <see cref="DepthwiseConv2dKernel"/> otherwise, pointwise ones up to 1024 channels deep likewise to
/// <see cref="PointwiseConv2dKernel"/>, 3×3 stride-1 ones to <see cref="WinogradConv2dKernel"/>. Bias and activation are the
/// GEMM's epilogue, applied to each strip of the output as it completes.
/// Accumulating into a residual (a fused residual Add) is the GEMM's β = 1, so it costs no extra pass.
/// </summary>
internal static unsafe class Conv2dKernel
{
    public static void Run(CpuGemm gemm, in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, Span<float> output, in FusedActivation activation, bool accumulate = false)
    {
        g.Validate(input.Length, weight.Length, bias.Length, output.Length);
        if (g.Batch == 0)
        {
            return;
        }

        fixed (float* pIn = input, pW = weight, pBias = bias, pOut = output)
        {
            if (ConvWindow.IsDepthwise(g))
            {
                if (gemm.Kernels == ManagedGemm.Kernels.Vector512 && PaddedDepthwiseConv2dKernel.IsSupported)
                {
                    PaddedDepthwiseConv2dKernel.Run(g, pIn, pW, pBias, pOut, activation, accumulate);
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

            if (gemm.Kernels == ManagedGemm.Kernels.Vector512 && PointwiseConv2dKernel.Applies(g))
            {
                PointwiseConv2dKernel.Run(g, pIn, pW, pBias, pOut, activation, accumulate);
                return;
            }

            if (WinogradConv2dKernel.Applies(g))
            {
                WinogradConv2dKernel.Run(gemm, g, pIn, pW, pBias, pOut, activation, accumulate);
                return;
            }

            using var weights = new ConvGroupWeights(gemm, g, pW, transposed: false);
            gemm.ForEachImage(g.Batch, new Job(g, pIn, weights, pBias, pOut, activation, accumulate).Image);
        }
    }

    // The depthwise kernel writes its output directly; residuals after depthwise layers are rare
    // enough (MobileNets add after the 1×1 projection) that a scratch output and one pass will do.
    private static void AccumulateDepthwise(in Conv2dGeometry g, float* input, float* weight, float* bias, Span<float> output, in FusedActivation activation)
    {
        var scratch = ArrayPool<float>.Shared.Rent(output.Length);
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
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    private readonly struct Job(Conv2dGeometry g, float* input, ConvGroupWeights weights, float* bias, float* output, FusedActivation activation,
        bool accumulate)
    {
        public void Image(int n, bool singleThreaded)
        {
            var cg = g.InChannels / g.Groups;
            var ocg = g.OutChannels / g.Groups;
            var outPlane = g.OutHeight * g.OutWidth;
            var kdim = cg * g.KernelHeight * g.KernelWidth;
            var pointwise = ConvWindow.IsPointwise(g);
            var image = input + ((long)n * g.InChannels * g.InHeight * g.InWidth);
            var result = output + ((long)n * g.OutChannels * outPlane);
            var scratch = pointwise ? null : ArrayPool<float>.Shared.Rent(kdim * outPlane);
            try
            {
                fixed (float* col = scratch)
                {
                    for (var grp = 0; grp < g.Groups; grp++)
                    {
                        var src = image + ((long)grp * cg * g.InHeight * g.InWidth);
                        if (!pointwise)
                        {
                            Im2Col.Run(g, cg, src, col);
                        }

                        CpuGemm.Multiply(weights[grp], outPlane, pointwise ? src : col, outPlane,
                            result + ((long)grp * ocg * outPlane), outPlane, singleThreaded, accumulate,
                            activation, bias == null ? null : bias + ((long)grp * ocg));
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
}
