using System.Runtime.Intrinsics;
using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Depthwise convolution with 512-bit vectors (AVX-512) or 256-bit ones (AVX2 with FMA) on planes of
/// any size, from 112×112 down to 7×7. Each input plane is first copied into a zero-padded buffer
/// split by stride phase (for stride 2 the even and odd rows and columns of the padded plane become
/// four quarter planes), so that every tap (ki, kj) reads one phase plane at a fixed offset from the
/// output index: the whole output plane, laid out with the phase planes' row pitch, is then one flat
/// loop of contiguous loads and FMAs, four vectors at a time, with no padding tests, no strided
/// gathers and no short rows (a 7×7 output is four 512-bit vectors, where row by row it would be
/// seven scalar rows). The few columns past each output row's end are computed and dropped by the
/// epilogue, which adds the bias and a residual (a fused Add) and applies the activation in the same
/// pass. One routine serves both widths; only the instructions differ (<see cref="IFloatLanes{TVector}"/>).
/// </summary>
internal static unsafe class PaddedDepthwiseConv2dKernel
{
    // Planes per parallel task: enough tasks to balance the threads, few enough that each rents its
    // scratch once for many small planes.
    private const int TasksPerThread = 8;

    /// <summary>Whether this CPU runs the kernel with <paramref name="width"/>; otherwise <see cref="DepthwiseConv2dKernel"/> does the work.</summary>
    public static bool IsSupported(ManagedGemm.Kernels width) => FloatLanes.IsSupported(width);

    /// <summary>
    /// output = act(conv(input) + bias), or act(output + conv(input) + bias) with <paramref name="accumulate"/>,
    /// for a convolution with one filter per channel (<see cref="ConvWindow.IsDepthwise"/>), with
    /// vectors of <paramref name="width"/> (<see cref="IsSupported"/>).
    /// </summary>
    public static void Run(in Conv2dGeometry g, float* input, float* weight, float* bias, float* output, in FusedActivation activation, bool accumulate,
        ManagedGemm.Kernels width)
    {
        if (width == ManagedGemm.Kernels.Vector512)
        {
            Run<Lanes512, Vector512<float>>(g, input, weight, bias, output, activation, accumulate);
        }
        else
        {
            Run<Lanes256, Vector256<float>>(g, input, weight, bias, output, activation, accumulate);
        }
    }

    private static void Run<TLanes, TVector>(in Conv2dGeometry g, float* input, float* weight, float* bias, float* output, in FusedActivation activation, bool accumulate)
        where TLanes : struct, IFloatLanes<TVector>
        where TVector : unmanaged
    {
        var layout = new Layout(g, TLanes.Count);
        var act = activation;
        var planes = g.Batch * g.OutChannels;
        var tasks = Math.Min(planes, CpuParallel.MaxThreads * TasksPerThread);
        var work = (long)planes / tasks * layout.OutLength * layout.Offsets.Length;
        CpuParallel.For(tasks, work, task =>
        {
            var first = (int)((long)task * planes / tasks);
            var end = (int)((long)(task + 1) * planes / tasks);
            var scratch = HostArrayPool.Shared.Rent(layout.ScratchLength + TLanes.Count);
            try
            {
                fixed (float* pScratch = scratch)
                fixed (int* offsets = layout.Offsets)
                {
                    // 64-byte aligned, so the flat loop's loads split no cache lines at phase-plane starts.
                    var phases = CacheLine.Align(pScratch);
                    var result = phases + layout.PhasesLength;
                    new Span<float>(phases, checked((int)layout.PhasesLength)).Clear();
                    for (var p = first; p < end; p++)
                    {
                        var c = p % layout.G.OutChannels;
                        layout.Fill<TLanes, TVector>(input + ((long)p * layout.InPlane), phases);
                        Convolve<TLanes, TVector>(layout, phases, offsets, weight + ((long)c * layout.Offsets.Length), result);
                        var dst = output + ((long)p * layout.OutPlane);
                        Epilogue<TLanes, TVector>(layout, result, dst, bias == null ? 0f : bias[c], act, accumulate);
                    }
                }
            }
            finally
            {
                HostArrayPool.Shared.Return(scratch);
            }
        });
    }

    // result[i] = Σ_t w[t]·phases[offsets[t] + i] for i < OutHeight·Pitch, in blocks of four vectors.
    private static void Convolve<TLanes, TVector>(Layout layout, float* phases, int* offsets, float* w, float* result)
        where TLanes : struct, IFloatLanes<TVector>
        where TVector : unmanaged
    {
        var lanes = TLanes.Count;
        var taps = layout.Offsets.Length;
        var n = layout.G.OutHeight * layout.Pitch;
        for (var i = 0; i < n; i += 4 * lanes)
        {
            TVector acc0 = TLanes.Zero, acc1 = TLanes.Zero, acc2 = TLanes.Zero, acc3 = TLanes.Zero;
            for (var t = 0; t < taps; t++)
            {
                var src = phases + offsets[t] + i;
                var wv = TLanes.Create(w[t]);
                acc0 = TLanes.FusedMultiplyAdd(TLanes.Load(src), wv, acc0);
                acc1 = TLanes.FusedMultiplyAdd(TLanes.Load(src + lanes), wv, acc1);
                acc2 = TLanes.FusedMultiplyAdd(TLanes.Load(src + (2 * lanes)), wv, acc2);
                acc3 = TLanes.FusedMultiplyAdd(TLanes.Load(src + (3 * lanes)), wv, acc3);
            }

            TLanes.Store(acc0, result + i);
            TLanes.Store(acc1, result + i + lanes);
            TLanes.Store(acc2, result + i + (2 * lanes));
            TLanes.Store(acc3, result + i + (3 * lanes));
        }
    }

    // dst row = act(result row + bias [+ dst row]), dropping the columns past OutWidth. ReLU, Clip
    // and no activation are a clamp done here; other activations are one more pass over the plane.
    private static void Epilogue<TLanes, TVector>(Layout layout, float* result, float* dst, float bias, in FusedActivation activation, bool accumulate)
        where TLanes : struct, IFloatLanes<TVector>
        where TVector : unmanaged
    {
        var (clamps, lo, hi) = ActivationKernel.ClampBounds(activation);
        var lanes = TLanes.Count;
        var bv = TLanes.Create(bias);
        var lov = TLanes.Create(lo);
        var hiv = TLanes.Create(hi);
        int outH = layout.G.OutHeight, outW = layout.G.OutWidth;
        var tail = outW % lanes;
        var mask = TLanes.FirstLanes(tail);
        for (var oh = 0; oh < outH; oh++)
        {
            var src = result + ((long)oh * layout.Pitch);
            var row = dst + ((long)oh * outW);
            var x = 0;
            for (; x + lanes <= outW; x += lanes)
            {
                var v = TLanes.Add(TLanes.Load(src + x), bv);
                if (accumulate)
                {
                    v = TLanes.Add(v, TLanes.Load(row + x));
                }

                TLanes.Store(TLanes.Clamp(v, lov, hiv), row + x);
            }

            if (tail != 0)
            {
                var v = TLanes.Add(TLanes.Load(src + x), bv);
                if (accumulate)
                {
                    v = TLanes.Add(v, TLanes.MaskLoad(row + x, mask));
                }

                // Where the lanes past the row land on later rows of this plane (stored after this
                // one) and no residual there is still to be read, a whole store will do.
                if (TLanes.PrefersWholeStores && !accumulate && ((long)oh * outW) + x + lanes <= layout.OutPlane)
                {
                    TLanes.Store(TLanes.Clamp(v, lov, hiv), row + x);
                }
                else
                {
                    TLanes.MaskStore(TLanes.Clamp(v, lov, hiv), row + x, mask);
                }
            }
        }

        if (!clamps)
        {
            var plane = new Span<float>(dst, layout.OutPlane);
            ActivationKernel.Apply(activation, plane, plane);
        }
    }

    /// <summary>
    /// Where the phase planes and the output lie in a task's scratch. Padded row R, column C of the
    /// input plane is row R / stride_h, column C / stride_w of phase (R mod stride_h, C mod stride_w);
    /// output (oh, ow) is at oh·Pitch + ow, and its tap (ki, kj) at a fixed offset from that.
    /// </summary>
    private sealed class Layout
    {
        public Layout(in Conv2dGeometry g, int lanes)
        {
            G = g;
            int sh = g.StrideHeight, sw = g.StrideWidth;
            var paddedHeight = Math.Max(g.PadTop + g.InHeight, ((g.OutHeight - 1) * sh) + ((g.KernelHeight - 1) * g.DilationHeight) + 1);
            var paddedWidth = Math.Max(g.PadLeft + g.InWidth, ((g.OutWidth - 1) * sw) + ((g.KernelWidth - 1) * g.DilationWidth) + 1);
            var phaseRows = (paddedHeight + sh - 1) / sh;
            Pitch = (paddedWidth + sw - 1) / sw;
            OutLength = RoundUp(g.OutHeight * Pitch, 4 * lanes);

            var reach = (((g.KernelHeight - 1) * g.DilationHeight / sh) * Pitch) + ((g.KernelWidth - 1) * g.DilationWidth / sw);

            // The last block of outputs reads up to OutLength - 1 + reach: slack (zeroed) past the rows,
            // which also takes the zeros that Fill's whole-vector stores write past the last row.
            PhaseLength = RoundUp(Math.Max((phaseRows * Pitch) + lanes, OutLength + reach), lanes);
            PhasesLength = (long)sh * sw * PhaseLength;

            // The epilogue's last vector may read past OutLength, by less than one vector.
            ScratchLength = checked((int)(PhasesLength + OutLength + lanes));
            InPlane = g.InHeight * g.InWidth;
            OutPlane = g.OutHeight * g.OutWidth;

            Offsets = new int[g.KernelHeight * g.KernelWidth];
            for (var ki = 0; ki < g.KernelHeight; ki++)
            {
                for (var kj = 0; kj < g.KernelWidth; kj++)
                {
                    int r = ki * g.DilationHeight, c = kj * g.DilationWidth;
                    var phase = ((r % sh) * sw) + (c % sw);
                    Offsets[(ki * g.KernelWidth) + kj] = (phase * PhaseLength) + (r / sh * Pitch) + (c / sw);
                }
            }
        }

        public Conv2dGeometry G { get; }

        /// <summary>Row pitch of the phase planes and of the output in scratch.</summary>
        public int Pitch { get; }

        public int PhaseLength { get; }

        public long PhasesLength { get; }

        /// <summary>Outputs computed per plane: OutHeight rows of Pitch, rounded up to whole blocks.</summary>
        public int OutLength { get; }

        public int ScratchLength { get; }

        public int InPlane { get; }

        public int OutPlane { get; }

        /// <summary>Per tap (ki·KW + kj), its offset in scratch from the output index.</summary>
        public int[] Offsets { get; }

        /// <summary>
        /// Copies one input plane into the phase planes. Rows are copied in whole vectors: a row's last
        /// vector is loaded masked and stored whole, so the lanes past the row write zeros, which land
        /// on padding or on a later row of the same phase plane (written after it), or on the slack
        /// past the phase plane's rows. Every other position of the padding and slack stays the zero
        /// that scratch held (cleared once per task). At 7×7 and 14×14 this replaces a call per row
        /// (stride 1) or a scalar loop (stride 2, under 8 pairs a row) by one or two vectors.
        /// </summary>
        public void Fill<TLanes, TVector>(float* src, float* phases)
            where TLanes : struct, IFloatLanes<TVector>
            where TVector : unmanaged
        {
            int sh = G.StrideHeight, sw = G.StrideWidth;
            for (var h = 0; h < G.InHeight; h++)
            {
                var r = G.PadTop + h;
                var row = phases + ((long)(r % sh) * sw * PhaseLength) + ((long)(r / sh) * Pitch);
                var from = src + ((long)h * G.InWidth);
                if (sw == 1)
                {
                    CopyRow<TLanes, TVector>(from, row + G.PadLeft, G.InWidth);
                }
                else if (sw == 2)
                {
                    SplitRow<TLanes, TVector>(from, row);
                }
                else
                {
                    for (var w = 0; w < G.InWidth; w++)
                    {
                        var c = G.PadLeft + w;
                        row[((long)(c % sw) * PhaseLength) + (c / sw)] = from[w];
                    }
                }
            }
        }

        // dst[0..count) = src[0..count), and zeros up to the next whole vector.
        private static void CopyRow<TLanes, TVector>(float* src, float* dst, int count)
            where TLanes : struct, IFloatLanes<TVector>
            where TVector : unmanaged
        {
            var lanes = TLanes.Count;
            var x = 0;
            for (; x + lanes <= count; x += lanes)
            {
                TLanes.Store(TLanes.Load(src + x), dst + x);
            }

            if (x < count)
            {
                TLanes.Store(TLanes.MaskLoad(src + x, TLanes.FirstLanes(count - x)), dst + x);
            }
        }

        // Input column w goes to column (PadLeft + w) / 2 of phase (PadLeft + w) mod 2; the two phases
        // of one row are PhaseLength apart. From the first input column that lands on an even padded
        // column, pairs split into the even and odd phases (an odd count's last column is an even
        // lane with a zero odd partner); an odd pad puts the first column alone in the odd phase.
        private void SplitRow<TLanes, TVector>(float* src, float* row)
            where TLanes : struct, IFloatLanes<TVector>
            where TVector : unmanaged
        {
            var lanes = TLanes.Count;
            int inW = G.InWidth, pad = G.PadLeft;
            var w0 = pad & 1;
            if (w0 == 1)
            {
                row[PhaseLength + (pad / 2)] = src[0];
            }

            var from = src + w0;
            var count = inW - w0;
            var even = row + ((pad + w0) / 2);
            var odd = even + PhaseLength;
            for (var x = 0; x < count; x += 2 * lanes)
            {
                TVector a, b;
                if (x + (2 * lanes) <= count)
                {
                    a = TLanes.Load(from + x);
                    b = TLanes.Load(from + x + lanes);
                }
                else
                {
                    a = TLanes.MaskLoad(from + x, TLanes.FirstLanes(count - x));
                    b = TLanes.MaskLoad(from + x + lanes, TLanes.FirstLanes(count - x - lanes));
                }

                var (e, o) = TLanes.Deinterleave(a, b);
                TLanes.Store(e, even + (x / 2));
                TLanes.Store(o, odd + (x / 2));
            }
        }

        private static int RoundUp(int x, int to) => (x + to - 1) / to * to;
    }
}
