using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Depthwise 3×3 convolution with stride 2 and a padding of 1 at the top and left (MobileNets'
/// downsampling layers) with AVX-512, straight from the input rows. <see cref="PaddedDepthwiseConv2dKernel"/>
/// first splits each input plane into four phase planes, which at stride 2 moves the whole input
/// (four times the output) through scratch once more; here each block of 16 outputs of a row loads
/// its 33 input columns of each of the three input rows as vectors and splits them with two-source
/// permutes: the even lanes of the columns from 2·ow − 1 are the left taps, their odd lanes the middle
/// taps, the odd lanes of the columns from 2·ow the right taps. Masked loads read zeros for the
/// padding columns; padding rows are skipped. Bias, a residual and ReLU/Clip are applied before each
/// store.
/// </summary>
internal static unsafe class StridedDepthwise3x3Kernel
{
    private const int Lanes = 16;

    // Blocks of 16 outputs a row at most (a 1024-wide output row): their masks live on the stack.
    private const int MaxBlocks = 64;

    // Planes per parallel task, as in the padded kernel: enough tasks to balance the threads.
    private const int TasksPerThread = 8;

    /// <summary>Whether the kernel runs a depthwise convolution: AVX-512, 3×3, stride 2, no dilation, padding 1 at the top and left.</summary>
    public static bool Applies(in Conv2dGeometry g) =>
        Avx512F.IsSupported && g.KernelHeight == 3 && g.KernelWidth == 3 && g.StrideHeight == 2 && g.StrideWidth == 2
        && g.DilationHeight == 1 && g.DilationWidth == 1 && g.PadTop == 1 && g.PadLeft == 1
        && g.OutWidth <= MaxBlocks * Lanes;

    /// <summary>
    /// output = act(conv(input) + bias), or act(output + conv(input) + bias) with <paramref name="accumulate"/>,
    /// one 3×3 filter per channel.
    /// </summary>
    public static void Run(in Conv2dGeometry g, float* input, float* weight, float* bias, float* output, in FusedActivation activation, bool accumulate)
    {
        var planes = g.Batch * g.OutChannels;
        var tasks = Math.Min(planes, CpuParallel.MaxThreads * TasksPerThread);
        var job = new Job(g, input, weight, bias, output, activation, accumulate);
        CpuParallel.For(tasks, (long)planes / tasks * g.OutHeight * g.OutWidth * 9, task =>
            job.Planes((int)((long)task * planes / tasks), (int)((long)(task + 1) * planes / tasks)));
    }

    private readonly struct Job(Conv2dGeometry g, float* input, float* weight, float* bias, float* output, FusedActivation activation, bool accumulate)
    {
        public void Planes(int first, int end)
        {
            var (clamps, lo, hi) = activation.Kind switch
            {
                ActivationKind.None => (true, float.NegativeInfinity, float.PositiveInfinity),
                ActivationKind.Relu => (true, 0f, float.PositiveInfinity),
                ActivationKind.Clip => (true, activation.Alpha, activation.Beta),
                _ => (false, float.NegativeInfinity, float.PositiveInfinity),
            };
            var low = Vector512.Create(lo);
            var high = Vector512.Create(hi);
            int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;
            var blocks = (outW + Lanes - 1) / Lanes;

            // Per block, which lanes of its four loads hold input columns (the rest read as zero),
            // and which lanes of its output are inside the row.
            var masks = stackalloc Vector512<float>[5 * blocks];
            var indices = Vector512<int>.Indices;
            for (var b = 0; b < blocks; b++)
            {
                var column = 2 * b * Lanes;
                masks[(5 * b) + 0] = Inside(indices + Vector512.Create(column - 1), inW);
                masks[(5 * b) + 1] = Inside(indices + Vector512.Create(column - 1 + Lanes), inW);
                masks[(5 * b) + 2] = Inside(indices + Vector512.Create(column), inW);
                masks[(5 * b) + 3] = Inside(indices + Vector512.Create(column + Lanes), inW);
                masks[(5 * b) + 4] = Vector512.LessThan(indices, Vector512.Create(outW - (b * Lanes))).AsSingle();
            }

            var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            var odd = even + Vector512<int>.One;
            long inPlane = inH * inW, outPlane = outH * outW;
            for (var p = first; p < end; p++)
            {
                var c = p % g.OutChannels;
                var w = weight + (c * 9);
                var bv = Vector512.Create(bias == null ? 0f : bias[c]);
                var src = input + (p * inPlane);
                var dst = output + (p * outPlane);
                for (var oh = 0; oh < outH; oh++)
                {
                    var row = dst + ((long)oh * outW);
                    for (var b = 0; b < blocks; b++)
                    {
                        var acc = bv;
                        var m = masks + (5 * b);
                        for (var ki = 0; ki < 3; ki++)
                        {
                            var ih = (2 * oh) - 1 + ki;
                            if ((uint)ih >= (uint)inH)
                            {
                                continue;
                            }

                            // Columns 2·ow0 − 1 .. 2·ow0 + 30 and 2·ow0 .. 2·ow0 + 31 of the input row.
                            var at = src + ((long)ih * inW) + (2 * b * Lanes);
                            var x0 = Avx512F.MaskLoad(at - 1, m[0], Vector512<float>.Zero);
                            var x1 = Avx512F.MaskLoad(at - 1 + Lanes, m[1], Vector512<float>.Zero);
                            var y0 = Avx512F.MaskLoad(at, m[2], Vector512<float>.Zero);
                            var y1 = Avx512F.MaskLoad(at + Lanes, m[3], Vector512<float>.Zero);
                            var taps = w + (3 * ki);
                            acc = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32x2(x0, even, x1), Vector512.Create(taps[0]), acc);
                            acc = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32x2(x0, odd, x1), Vector512.Create(taps[1]), acc);
                            acc = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32x2(y0, odd, y1), Vector512.Create(taps[2]), acc);
                        }

                        var at0 = row + (b * Lanes);
                        if (accumulate)
                        {
                            acc += Avx512F.MaskLoad(at0, m[4], Vector512<float>.Zero);
                        }

                        Avx512F.MaskStore(at0, m[4], Avx512F.Min(Avx512F.Max(acc, low), high));
                    }
                }

                if (!clamps)
                {
                    var plane = new Span<float>(dst, (int)outPlane);
                    ActivationKernel.Apply(activation, plane, plane);
                }
            }
        }

        private static Vector512<float> Inside(Vector512<int> columns, int width) =>
            (Vector512.GreaterThanOrEqual(columns, Vector512<int>.Zero) & Vector512.LessThan(columns, Vector512.Create(width))).AsSingle();
    }
}
