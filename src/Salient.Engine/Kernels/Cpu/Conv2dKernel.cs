using System.Buffers;
using Salient.Engine.Kernels.Native;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Convolution as GEMM: per image and group, out[OC/g, OH·OW] = W[OC/g, C/g·KH·KW] · col[C/g·KH·KW, OH·OW].
/// 1×1 stride-1 unpadded convolutions use the input plane as the column matrix; depthwise ones go
/// to <see cref="DepthwiseConv2dKernel"/>. Bias and activation are one pass over each output image.
/// </summary>
internal static unsafe class Conv2dKernel
{
    public static void Run(CpuGemm gemm, in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight,
        ReadOnlySpan<float> bias, Span<float> output, in FusedActivation activation)
    {
        ConvWindow.Validate(g, input.Length, weight.Length, bias.Length, output.Length);
        if (g.Batch == 0)
        {
            return;
        }

        fixed (float* pIn = input, pW = weight, pBias = bias, pOut = output)
        {
            if (g.Groups == g.InChannels && g.Groups == g.OutChannels)
            {
                DepthwiseConv2dKernel.Run(g, pIn, pW, pBias, pOut, activation);
                return;
            }

            var job = new Job(gemm, g, pIn, pW, pBias, pOut, activation);
            if (!BatchParallel(gemm, g))
            {
                for (var n = 0; n < g.Batch; n++)
                {
                    job.Image(n, singleThreaded: false);
                }

                return;
            }

            // Each image on its own thread with a single-threaded GEMM: with few cores this beats
            // splitting every (often small) GEMM across them. OpenBLAS's thread count is global.
            var blasThreads = OpenBlasNative.NumThreads;
            if (gemm.UsesOpenBlas)
            {
                OpenBlasNative.SetNumThreads(1);
            }

            try
            {
                Parallel.For(0, g.Batch, new ParallelOptions { MaxDegreeOfParallelism = CpuParallel.MaxThreads }, n => job.Image(n, singleThreaded: true));
            }
            finally
            {
                if (gemm.UsesOpenBlas)
                {
                    OpenBlasNative.SetNumThreads(blasThreads);
                }
            }
        }
    }

    private static bool BatchParallel(CpuGemm gemm, in Conv2dGeometry g) =>
        g.Batch > 1 && CpuParallel.MaxThreads > 1 && Strategy(gemm);

    internal static Func<CpuGemm, bool> Strategy { get; set; } = _ => true;

    private readonly struct Job(CpuGemm gemm, Conv2dGeometry g, float* input, float* weight, float* bias, float* output, FusedActivation activation)
    {
        public void Image(int n, bool singleThreaded)
        {
            var cg = g.InChannels / g.Groups;
            var ocg = g.OutChannels / g.Groups;
            var outPlane = g.OutHeight * g.OutWidth;
            var kdim = cg * g.KernelHeight * g.KernelWidth;
            var pointwise = g.KernelHeight == 1 && g.KernelWidth == 1 && g.StrideHeight == 1 && g.StrideWidth == 1
                && g.PadTop == 0 && g.PadLeft == 0 && g.PadBottom == 0 && g.PadRight == 0;
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

                        gemm.Sgemm(false, false, ocg, outPlane, kdim, 1f, weight + ((long)grp * ocg * kdim), kdim,
                            pointwise ? src : col, outPlane, 0f, result + ((long)grp * ocg * outPlane), outPlane, singleThreaded);
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

            for (var oc = 0; oc < g.OutChannels; oc++)
            {
                var plane = new Span<float>(result + ((long)oc * outPlane), outPlane);
                ActivationKernel.Apply(activation, plane, plane, 1f, bias == null ? 0f : bias[oc]);
            }
        }
    }
}
