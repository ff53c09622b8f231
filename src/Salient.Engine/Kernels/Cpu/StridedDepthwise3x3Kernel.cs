using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Depthwise 3×3 convolution with stride 2 and a padding of 1 at the top and left, on output rows of
/// at most 16 (MobileNets' downsampling to 14×14 and 7×7), with AVX-512 straight from the input rows.
/// <see cref="PaddedDepthwiseConv2dKernel"/> first splits each input plane into four phase planes,
/// which at these sizes costs about as much as the convolution; here each output row is one vector:
/// the 32 input columns of each of its three input rows are two loads, split by two-source permutes
/// into the even lanes (the middle taps) and the odd lanes (the right taps), and the right taps
/// shifted one output over, a zero (the padding) coming in, are the left taps. Masked loads read
/// zeros past the row; padding rows are skipped. Bias, a residual and ReLU/Clip are applied before
/// the store. Wider rows stay with the phase planes: at 56×56 → 28×28 this kernel was 1.18× slower,
/// at 112×112 → 56×56 level (docs/benchmarks/2026-12-03-pointwise.md).
/// </summary>
internal static unsafe class StridedDepthwise3x3Kernel
{
    private const int Lanes = 16;

    // Planes per parallel task, as in the padded kernel: enough tasks to balance the threads.
    private const int TasksPerThread = 8;

    /// <summary>Whether the kernel runs a depthwise convolution: AVX-512, 3×3, stride 2, no dilation, padding 1 at the top and left, outputs rows of at most 16.</summary>
    public static bool Applies(in Conv2dGeometry g) =>
        Avx512F.IsSupported && g.KernelHeight == 3 && g.KernelWidth == 3 && g.StrideHeight == 2 && g.StrideWidth == 2
        && g.DilationHeight == 1 && g.DilationWidth == 1 && g.PadTop == 1 && g.PadLeft == 1 && g.OutWidth <= Lanes;

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
            var (clamps, lo, hi) = ActivationKernel.ClampBounds(activation);
            var low = Vector512.Create(lo);
            var high = Vector512.Create(hi);
            int inH = g.InHeight, inW = g.InWidth, outH = g.OutHeight, outW = g.OutWidth;

            // The lanes of the two loads that hold input columns (the rest read as zero), and the
            // lanes of the output row.
            var indices = Vector512<int>.Indices;
            var low0 = Vector512.LessThan(indices, Vector512.Create(inW)).AsSingle();
            var low1 = Vector512.LessThan(indices + Vector512.Create(Lanes), Vector512.Create(inW)).AsSingle();
            var outputs = Vector512.LessThan(indices, Vector512.Create(outW)).AsSingle();
            var shapes = new Shapes(
                Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30),
                Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31),
                Vector512.Create(0, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30),
                low0,
                low1);
            var taps = stackalloc Vector512<float>[9];
            long inPlane = inH * inW, outPlane = outH * outW;
            for (var p = first; p < end; p++)
            {
                var c = p % g.OutChannels;
                for (var t = 0; t < 9; t++)
                {
                    taps[t] = Vector512.Create(weight[(c * 9) + t]);
                }

                var bv = Vector512.Create(bias == null ? 0f : bias[c]);
                var src = input + (p * inPlane);
                var dst = output + (p * outPlane);
                for (var oh = 0; oh < outH; oh++)
                {
                    var acc = bv;
                    var acc1 = Vector512<float>.Zero;
                    for (var ki = 0; ki < 3; ki++)
                    {
                        var ih = (2 * oh) - 1 + ki;
                        if ((uint)ih < (uint)inH)
                        {
                            Row(src + ((long)ih * inW), shapes, taps + (3 * ki), ref acc, ref acc1);
                        }
                    }

                    var row = dst + ((long)oh * outW);
                    acc += acc1;
                    if (accumulate)
                    {
                        acc += Avx512F.MaskLoad(row, outputs, Vector512<float>.Zero);
                    }

                    Avx512F.MaskStore(row, outputs, Avx512F.Min(Avx512F.Max(acc, low), high));
                }

                if (!clamps)
                {
                    var plane = new Span<float>(dst, (int)outPlane);
                    ActivationKernel.Apply(activation, plane, plane);
                }
            }
        }

        // One input row's three taps: columns 0..31 split into even lanes (middle taps) and odd lanes
        // (right taps); the right taps one output over, with a zero (the padding column) first, are
        // the left taps. Two accumulators, so the nine FMAs of an output row are two chains.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Row(float* at, in Shapes s, Vector512<float>* w, ref Vector512<float> acc, ref Vector512<float> acc1)
        {
            var y0 = Avx512F.MaskLoad(at, s.Low, Vector512<float>.Zero);
            var y1 = Avx512F.MaskLoad(at + Lanes, s.High, Vector512<float>.Zero);
            var right = Avx512F.PermuteVar16x32x2(y0, s.Odd, y1);
            acc = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32x2(Vector512<float>.Zero, s.Shift, right), w[0], acc);
            acc1 = Avx512F.FusedMultiplyAdd(Avx512F.PermuteVar16x32x2(y0, s.Even, y1), w[1], acc1);
            acc = Avx512F.FusedMultiplyAdd(right, w[2], acc);
        }
    }

    // The permutes' index vectors and the input row's load masks. Shift's lane 0 (index 0) reads the
    // zero source: the left tap of output 0 is the padding column.
    private readonly record struct Shapes(Vector512<int> Even, Vector512<int> Odd, Vector512<int> Shift, Vector512<float> Low, Vector512<float> High);
}
