using System.Numerics.Tensors;
using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Convolution gradients as GEMMs per image and group, parallel over images like
/// <see cref="Conv2dKernel"/>: the input gradient is col2im(Wᵀ·dY), or Wᵀ·dY itself for pointwise
/// convolutions, with Wᵀ prepared once per call (<see cref="ConvGroupWeights"/>); the weight gradient is Σ_images dY·im2col(x)ᵀ,
/// each thread summing its share of the images into its own buffer. Depthwise convolutions go to
/// <see cref="DepthwiseConv2dBackwardKernel"/>, input gradients of 3×3 stride-1 ones to <see cref="WinogradConv2dKernel"/> or
/// <see cref="Winograd4x4Conv2dKernel"/>.
/// </summary>
internal static unsafe class Conv2dBackwardKernel
{
    public static void Data(CpuGemm gemm, in Conv2dGeometry g, WeightCache weights, ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
    {
        g.Validate(inputGradient.Length, weights.Length, 0, outputGradient.Length);
        if (g.Batch == 0)
        {
            return;
        }

        fixed (float* pDy = outputGradient, pDx = inputGradient)
        {
            if (ConvWindow.IsDepthwise(g))
            {
                using var pinned = weights.Pin();
                DepthwiseConv2dBackwardKernel.Data(g, (float*)pinned.Pointer, pDy, pDx);
                return;
            }

            if (WinogradConv2dKernel.AppliesToBackwardData(g, gemm, weights))
            {
                if (UsesWinograd4x4(g, gemm, weights))
                {
                    Winograd4x4Conv2dKernel.BackwardData(gemm, g, weights, pDy, pDx);
                }
                else
                {
                    WinogradConv2dKernel.BackwardData(gemm, g, weights, pDy, pDx);
                }

                return;
            }

            using var lhs = ConvGroupWeights.For(gemm, g, weights, transposed: true);
            gemm.ForEachImage(g.Batch, new DataJob(g, lhs, pDy, pDx).Image);
        }
    }

    /// <summary>
    /// Whether an input gradient <see cref="WinogradConv2dKernel.AppliesToBackwardData"/> accepts runs with F(4×4), as the
    /// forward does where its transposed convolution would: with the 256-bit kernels only. On a Zen 3 (AVX2, 2 threads,
    /// batch 8) ResNet-18's 128-channel 28×28 input gradients went from 17–24 to 12–16 ms, its 64-channel 56×56 ones
    /// from 16–20 to 14–19 (docs/benchmarks/2026-12-03-avx2-explain2.md); the flipped F(4×4) transforms kept in the cache
    /// add 5–7 MB to the peak. The AVX-512 kernels keep F(2×2), never measured against F(4×4) there.
    /// </summary>
    private static bool UsesWinograd4x4(in Conv2dGeometry g, CpuGemm gemm, WeightCache weights) =>
        gemm.Kernels != ManagedGemm.Kernels.Vector512 && Winograd4x4Conv2dKernel.Applies(WinogradConv2dKernel.BackwardGeometry(g), gemm, weights);

    public static void Weights(CpuGemm gemm, in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> outputGradient,
        Span<float> weightGradient, Span<float> biasGradient)
    {
        g.Validate(input.Length, weightGradient.Length, biasGradient.Length, outputGradient.Length);
        fixed (float* pX = input, pDy = outputGradient, pDw = weightGradient)
        {
            if (ConvWindow.IsDepthwise(g))
            {
                DepthwiseConv2dBackwardKernel.Weights(g, pX, pDy, pDw);
            }
            else
            {
                WeightsByGemm(gemm, g, pX, pDy, pDw, weightGradient.Length);
            }
        }

        if (!biasGradient.IsEmpty)
        {
            var outPlane = g.OutHeight * g.OutWidth;
            biasGradient.Clear();
            for (var n = 0; n < g.Batch; n++)
            {
                for (var oc = 0; oc < g.OutChannels; oc++)
                {
                    biasGradient[oc] += TensorPrimitives.Sum(outputGradient.Slice(((n * g.OutChannels) + oc) * outPlane, outPlane));
                }
            }
        }
    }

    // The images split into one contiguous share per thread; share 0 accumulates into the result
    // and the others into scratch buffers added to it at the end.
    private static void WeightsByGemm(CpuGemm gemm, in Conv2dGeometry g, float* x, float* dy, float* dw, int length)
    {
        var batch = g.Batch;
        var shares = CpuGemm.SplitsBatch(batch) ? Math.Min(CpuParallel.MaxThreads, batch) : 1;
        var partials = shares > 1 ? HostArrayPool.Shared.Rent((shares - 1) * length) : null;
        try
        {
            fixed (float* pPartials = partials)
            {
                var job = new WeightsJob(gemm, g, x, dy);
                var scratch = pPartials;
                void Share(int t, bool singleThreaded)
                {
                    var sum = t == 0 ? dw : scratch + ((long)(t - 1) * length);
                    new Span<float>(sum, length).Clear();
                    for (var n = t * batch / shares; n < (t + 1) * batch / shares; n++)
                    {
                        job.Image(n, sum, singleThreaded);
                    }
                }

                if (shares == 1)
                {
                    Share(0, singleThreaded: false);
                    return;
                }

                gemm.ForEachSingleThreaded(shares, t => Share(t, singleThreaded: true));
                var result = new Span<float>(dw, length);
                for (var t = 1; t < shares; t++)
                {
                    TensorPrimitives.Add(result, new ReadOnlySpan<float>(scratch + ((long)(t - 1) * length), length), result);
                }
            }
        }
        finally
        {
            if (partials is not null)
            {
                HostArrayPool.Shared.Return(partials);
            }
        }
    }

    private readonly struct DataJob(Conv2dGeometry g, ConvGroupWeights weights, float* outputGradient, float* inputGradient)
    {
        public void Image(int n, bool singleThreaded)
        {
            var cg = g.InChannels / g.Groups;
            var ocg = g.OutChannels / g.Groups;
            var inPlane = g.InHeight * g.InWidth;
            var outPlane = g.OutHeight * g.OutWidth;
            var pointwise = ConvWindow.IsPointwise(g);
            var dy = outputGradient + ((long)n * g.OutChannels * outPlane);
            var dx = inputGradient + ((long)n * g.InChannels * inPlane);
            var scratch = pointwise ? null : HostArrayPool.Shared.Rent(cg * g.KernelHeight * g.KernelWidth * outPlane);
            try
            {
                fixed (float* col = scratch)
                {
                    for (var grp = 0; grp < g.Groups; grp++)
                    {
                        var target = dx + ((long)grp * cg * inPlane);
                        CpuGemm.Multiply(weights[grp], outPlane, dy + ((long)grp * ocg * outPlane), outPlane,
                            pointwise ? target : col, outPlane, singleThreaded);
                        if (!pointwise)
                        {
                            new Span<float>(target, cg * inPlane).Clear();
                            Col2Im.Run(g, cg, col, target);
                        }
                    }
                }
            }
            finally
            {
                if (scratch is not null)
                {
                    HostArrayPool.Shared.Return(scratch);
                }
            }
        }
    }

    private readonly struct WeightsJob(CpuGemm gemm, Conv2dGeometry g, float* input, float* outputGradient)
    {
        /// <summary>Adds image <paramref name="n"/>'s weight gradient to <paramref name="sum"/>.</summary>
        public void Image(int n, float* sum, bool singleThreaded)
        {
            var cg = g.InChannels / g.Groups;
            var ocg = g.OutChannels / g.Groups;
            var inPlane = g.InHeight * g.InWidth;
            var outPlane = g.OutHeight * g.OutWidth;
            var kdim = cg * g.KernelHeight * g.KernelWidth;
            var pointwise = ConvWindow.IsPointwise(g);
            var x = input + ((long)n * g.InChannels * inPlane);
            var dy = outputGradient + ((long)n * g.OutChannels * outPlane);
            var scratch = pointwise ? null : HostArrayPool.Shared.Rent(kdim * outPlane);
            try
            {
                fixed (float* col = scratch)
                {
                    for (var grp = 0; grp < g.Groups; grp++)
                    {
                        var src = x + ((long)grp * cg * inPlane);
                        if (!pointwise)
                        {
                            Im2Col.Run(g, cg, src, col, outPlane);
                        }

                        gemm.Sgemm(false, true, ocg, kdim, outPlane, 1f, dy + ((long)grp * ocg * outPlane), outPlane,
                            pointwise ? src : col, outPlane, 1f, sum + ((long)grp * ocg * kdim), kdim, singleThreaded);
                    }
                }
            }
            finally
            {
                if (scratch is not null)
                {
                    HostArrayPool.Shared.Return(scratch);
                }
            }
        }
    }
}
