using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// 1×1 convolutions of at most <see cref="MaxDepth"/> input channels (MobileNets' expansions and
/// projections, most of ResNet's, strided ones on a subsampled copy of the input) with AVX-512 or AVX2:
/// out[OC, N·HW] = W[OC, C] · in[C, N·HW], the batch's columns taken as one matrix. The general GEMM
/// clears C before accumulating into it and runs one image's 49 or 196 columns at a time; here each task
/// takes a run of tiles two vectors wide (32 columns with AVX-512, 16 with AVX2; a tile may span two
/// images), gathers those of small planes and those spanning images from the NCHW planes into
/// contiguous rows, once, and reads the others in place, while the 12-row panels of the weights
/// (packed once per model, per call without its cache) stream past them; each tile keeps its sums in
/// registers over the whole depth (12 rows in 24 of AVX-512's 32, 6 rows at a time in 12 of AVX2's
/// 16) and is stored once, image by image, with bias, residual and ReLU/Clip applied. One routine
/// serves both widths through <see cref="IFloatLanes{TVector}"/>.
/// </summary>
internal static unsafe class PointwiseConv2dKernel
{
    /// <summary>
    /// The deepest convolution taken. Up to 1024 channels this kernel beat the GEMM on every layer it
    /// was measured on (docs/benchmarks/2026-12-03-mobilenet.md), and with tiles of 7×7 planes
    /// gathered across images also on ResNet-50's 2048-channel inputs (2048→512 at 7×7: 2.2 against
    /// 2.4 ms a batch of 8 on the GEMM; docs/benchmarks/2026-12-03-pointwise.md). Deeper ones were
    /// not measured and stay with the GEMM, whose depth blocks keep a weight panel in L1 where this
    /// kernel's whole-depth panels (96 KiB at 2048) do not fit.
    /// </summary>
    public const int MaxDepth = 2048;

    private const int Mr = 12;

    // Floats past a buffer's end that CacheLine.Align may move its start by.
    private const int AlignSlack = 16;

    // Floats of activations one task's tiles span (256 KiB, a quarter of a Zen 5 core's L2): each
    // weight panel streams past all of them, so small planes (several images a task) and deep weights
    // (1280×320 is 1.6 MB) are read a few times per call, not once per tile.
    private const int TaskFloats = 1 << 16;

    // Planes at least this large (28×28) read their whole tiles in place, rows a plane apart: there
    // the copy cost 4–10% on shallow layers (256→64 at 56×56, 16→96 at 112×112, 512→128 at 28×28)
    // and saved nothing; smaller planes copy every tile (contiguous rows were 6–22% faster at 14×14
    // and 7×7; docs/benchmarks/2026-12-03-pointwise.md).
    private const int InPlacePlane = 28 * 28;

    /// <summary>
    /// Whether this kernel runs the convolution with <paramref name="kernels"/>' vectors: AVX-512 (or
    /// AVX2 with FMA), a 1×1 window without padding, one group, at most <see cref="MaxDepth"/> deep.
    /// Strided ones (ResNet's downsampling shortcuts) run on a subsampled copy of the input. At 28×28
    /// outputs alone (the same input on every call, partly in cache) that was slower than the GEMM's
    /// image-by-image copies, but in the network, where the input comes from memory either way, faster
    /// (ResNet-50's 256→512: 5.3 against 5.8 ms a batch of 8, medians of 8 profiles;
    /// docs/benchmarks/2026-12-03-downsample.md).
    /// </summary>
    public static bool Applies(in Conv2dGeometry g, ManagedGemm.Kernels kernels) =>
        FloatLanes.IsSupported(kernels) && g.Groups == 1 && g.KernelHeight == 1 && g.KernelWidth == 1
        && g.PadTop == 0 && g.PadLeft == 0 && g.PadBottom == 0 && g.PadRight == 0 && g.InChannels <= MaxDepth;

    /// <summary>
    /// output = act(W·input + bias), or act(output + W·input + bias) with <paramref name="accumulate"/>,
    /// in <paramref name="kernels"/>' vectors (see <see cref="Applies"/>).
    /// With <paramref name="weights"/> that keep their forms, the packed weights are made once per model.
    /// </summary>
    public static void Run(ManagedGemm.Kernels kernels, in Conv2dGeometry g, float* input, WeightCache weights, float* bias, float* output,
        in FusedActivation activation, bool accumulate)
    {
        if (kernels == ManagedGemm.Kernels.Vector512)
        {
            Run<Lanes512, Vector512<float>>(g, input, weights, bias, output, activation, accumulate);
        }
        else
        {
            Run<Lanes256, Vector256<float>>(g, input, weights, bias, output, activation, accumulate);
        }
    }

    private static void Run<TLanes, TVector>(in Conv2dGeometry g, float* input, WeightCache weights, float* bias, float* output,
        in FusedActivation activation, bool accumulate)
        where TLanes : struct, IFloatLanes<TVector>
        where TVector : unmanaged
    {
        if (!ConvWindow.IsPointwise(g))
        {
            // A strided 1×1 convolution is the pointwise one on the input at its windows' positions.
            // The copy is a 1/(SH·SW) of the input; the general path packed the same copy and then
            // its GEMM panels, one image at a time (6.0–6.8 ms a batch of 8 on ResNet-50's
            // shortcuts, where ONNX Runtime takes 4.1–4.7).
            var subsampled = HostArrayPool.Shared.Rent(checked(g.Batch * g.InChannels * g.OutHeight * g.OutWidth));
            try
            {
                fixed (float* p = subsampled)
                {
                    Subsample<TLanes, TVector>(g, input, p);
                    Run<TLanes, TVector>(g with { InHeight = g.OutHeight, InWidth = g.OutWidth, StrideHeight = 1, StrideWidth = 1 }, p, weights, bias, output,
                        activation, accumulate);
                }
            }
            finally
            {
                HostArrayPool.Shared.Return(subsampled);
            }

            return;
        }

        int m = g.OutChannels, k = g.InChannels;
        var length = (((m + Mr - 1) / Mr) * Mr * k) + AlignSlack;
        if (weights.Keeps)
        {
            // Pinned, so the aligned start found when packing stays where it was.
            var kept = weights.Get(new Form(m, k), () =>
            {
                var buffer = GC.AllocateArray<float>(length, pinned: true);
                using var weight = weights.Pin();
                fixed (float* p = buffer)
                {
                    Pack((float*)weight.Pointer, m, k, CacheLine.Align(p));
                }

                return buffer;
            });
            fixed (float* p = kept)
            {
                Multiply<TLanes, TVector>(g, CacheLine.Align(p), input, bias, output, activation, accumulate);
            }

            return;
        }

        var packed = HostArrayPool.Shared.Rent(length);
        try
        {
            using var weight = weights.Pin();
            fixed (float* p = packed)
            {
                var a = CacheLine.Align(p);
                Pack((float*)weight.Pointer, m, k, a);
                Multiply<TLanes, TVector>(g, a, input, bias, output, activation, accumulate);
            }
        }
        finally
        {
            HostArrayPool.Shared.Return(packed);
        }
    }

    // Tiles of two vectors' columns over the batch's columns taken as one matrix (image after image, so
    // a tile may end in one image and go on in the next): small planes waste no lanes on partial tiles
    // (7×7 is 49 columns, 14×14 196). Each task takes a run of tiles; the runs are even and their
    // number a multiple of the threads, since at 7×7 a batch is only about a dozen tiles.
    private static void Multiply<TLanes, TVector>(in Conv2dGeometry g, float* a, float* input, float* bias, float* output, in FusedActivation activation,
        bool accumulate)
        where TLanes : struct, IFloatLanes<TVector>
        where TVector : unmanaged
    {
        int m = g.OutChannels, k = g.InChannels, plane = g.InHeight * g.InWidth;
        var nr = 2 * TLanes.Count;
        var columns = (long)g.Batch * plane;
        var tiles = (int)((columns + nr - 1) / nr);
        var threads = CpuParallel.MaxThreads;
        var perTask = Math.Max(1, TaskFloats / (k * nr));
        var tasks = Math.Max((tiles + perTask - 1) / perTask, Math.Min(tiles, 2 * threads));
        tasks = Math.Min(tiles, (tasks + threads - 1) / threads * threads);
        var job = new Job<TLanes, TVector>(a, m, k, plane, columns, input, bias, output, activation, accumulate);
        CpuParallel.For(tasks, (long)m * k * nr * tiles / tasks, t =>
            job.Tiles((int)((long)t * tiles / tasks), (int)((long)(t + 1) * tiles / tasks)));
    }

    // sub[n, c] = input[n, c] at every stride-th row and column (planes of OH×OW), plane by plane
    // on all threads.
    private static void Subsample<TLanes, TVector>(in Conv2dGeometry g, float* input, float* sub)
        where TLanes : struct, IFloatLanes<TVector>
        where TVector : unmanaged
    {
        int width = g.InWidth, outHeight = g.OutHeight, outWidth = g.OutWidth, strideWidth = g.StrideWidth;
        long inPlane = (long)g.InHeight * width, outPlane = (long)outHeight * outWidth, rowStep = (long)g.StrideHeight * width;
        CpuParallel.For(g.Batch * g.InChannels, outPlane, p =>
        {
            var src = input + (p * inPlane);
            var dst = sub + (p * outPlane);
            for (var y = 0; y < outHeight; y++, src += rowStep, dst += outWidth)
            {
                if (strideWidth == 2)
                {
                    EvenColumns<TLanes, TVector>(src, dst, outWidth, width);
                }
                else
                {
                    for (var x = 0; x < outWidth; x++)
                    {
                        dst[x] = src[x * strideWidth];
                    }
                }
            }
        });
    }

    // dst[j] = src[2j] for j < count, reading no further than src[available - 1]: a vector a step from
    // two loads split into their even lanes, the rest of the row with masked loads and stores.
    private static void EvenColumns<TLanes, TVector>(float* src, float* dst, int count, int available)
        where TLanes : struct, IFloatLanes<TVector>
        where TVector : unmanaged
    {
        var lanes = TLanes.Count;
        var j = 0;
        for (; j + lanes <= count && (2 * j) + (2 * lanes) <= available; j += lanes)
        {
            TLanes.Store(TLanes.Evens(TLanes.Load(src + (2 * j)), TLanes.Load(src + (2 * j) + lanes)), dst + j);
        }

        if (j < count)
        {
            // At most a vector of outputs is left: the loop stops only where fewer than two vectors of inputs remain.
            var left = available - (2 * j);
            var low = TLanes.MaskLoad(src + (2 * j), TLanes.LanesIn(0, 0, left));
            var high = TLanes.MaskLoad(src + (2 * j) + lanes, TLanes.LanesIn(lanes, 0, left));
            TLanes.MaskStore(TLanes.Evens(low, high), dst + j, TLanes.LanesIn(0, 0, count - j));
        }
    }

    // The cache key: the packed layout depends only on the weights' shape.
    private readonly record struct Form(int OutChannels, int InChannels);

    // W (m×k, row-major) as panels of 12 rows, each k steps of 12 consecutive weights; rows past m
    // are zero. Panels on all threads, since the products wait for them (MobileNetV2 packs about
    // 2 M weights a pass).
    private static void Pack(float* weight, int m, int k, float* a)
    {
        CpuParallel.For((m + Mr - 1) / Mr, (long)Mr * k, panelIndex =>
        {
            var p = panelIndex * Mr;
            var panel = a + ((long)p * k);
            for (var r = 0; r < Mr; r++)
            {
                var row = weight + ((long)(p + r) * k);
                for (var d = 0; d < k; d++)
                {
                    panel[(d * Mr) + r] = p + r < m ? row[d] : 0f;
                }
            }
        });
    }

    private readonly struct Job<TLanes, TVector>(float* a, int m, int k, int plane, long columns, float* input, float* bias, float* output,
        FusedActivation activation, bool accumulate)
        where TLanes : struct, IFloatLanes<TVector>
        where TVector : unmanaged
    {
        private static int Lanes => TLanes.Count;

        private static int Nr => 2 * TLanes.Count;

        // Whether whole tiles are read in place, rows a plane apart: only with 512-bit vectors and large
        // planes (see InPlacePlane). A 256-bit tile's row is one cache line, and read in place its k rows
        // were k streams of single lines for each panel that passed: in the network, layers at 28×28 and
        // up took 3–55% longer than on the GEMM, so AVX2 gathers every tile.
        private bool InPlace => TLanes.Count == Lanes512.Count && plane >= InPlacePlane;

        // Tiles [first, end) of the batch, every output channel: weight panels outside, tiles inside.
        public void Tiles(int first, int end)
        {
            var (clamps, lo, hi) = ActivationKernel.ClampBounds(activation);
            var bounds = new Bounds<TVector>(TLanes.Create(lo), TLanes.Create(hi));
            var count = end - first;

            // A tile's columns lie in at most this many images.
            var perTile = ((Nr - 1) / plane) + 2;
            var segments = ArrayPool<Segment<TVector>>.Shared.Rent(count * perTile);
            var starts = ArrayPool<int>.Shared.Rent(count + 1);
            var sources = ArrayPool<Source>.Shared.Rent(count);
            float[]? packed = null;
            try
            {
                fixed (Segment<TVector>* pSegments = segments)
                {
                    var used = 0;
                    var copies = 0;
                    for (var t = 0; t < count; t++)
                    {
                        starts[t] = used;
                        used += Split(first + t, pSegments + used);
                        var head = pSegments[starts[t]];
                        var whole = used - starts[t] == 1 && head.Begin == 0 && head.End == Nr;
                        sources[t] = whole && InPlace ? new Source(head.Input, plane, head.Output) : new Source(0, Nr, whole ? head.Output : 0);
                        copies += sources[t].Address == 0 ? 1 : 0;
                    }

                    starts[count] = used;
                    packed = copies == 0 ? null : HostArrayPool.Shared.Rent((copies * k * Nr) + AlignSlack);
                    fixed (float* pPacked = packed)
                    {
                        var b = pPacked == null ? null : CacheLine.Align(pPacked);
                        for (var t = 0; t < count;)
                        {
                            if (sources[t].Address != 0)
                            {
                                t++;
                                continue;
                            }

                            var run = Adjacent(pSegments, starts, sources, t, count);
                            if (run > 1)
                            {
                                PackRun((float*)pSegments[starts[t]].Input, run, b);
                            }
                            else
                            {
                                PackTile(pSegments + starts[t], starts[t + 1] - starts[t], b);
                            }

                            for (var last = t + run; t < last; t++, b += k * Nr)
                            {
                                sources[t].Address = (nint)b;
                            }
                        }

                        for (var r = 0; r < m; r += Mr)
                        {
                            var rows = Math.Min(Mr, m - r);
                            var panel = a + ((long)r * k);
                            var rowBias = bias == null ? null : bias + r;
                            for (var t = 0; t < count; t++)
                            {
                                var tile = new Tile<TLanes, TVector>(pSegments + starts[t], starts[t + 1] - starts[t], (float*)sources[t].Whole, (long)r * plane, plane,
                                    rowBias, rows, bounds, accumulate);
                                Panel(rows, panel, (float*)sources[t].Address, sources[t].Stride, tile);
                            }
                        }
                    }

                    for (var s = 0; s < used && !clamps; s++)
                    {
                        var segment = pSegments[s];
                        for (var r = 0; r < m; r++)
                        {
                            var row = new Span<float>((float*)segment.Output + ((long)r * plane) + segment.Begin, segment.End - segment.Begin);
                            ActivationKernel.Apply(activation, row, row);
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<Source>.Shared.Return(sources);
                ArrayPool<int>.Shared.Return(starts);
                ArrayPool<Segment<TVector>>.Shared.Return(segments);
                if (packed is not null)
                {
                    HostArrayPool.Shared.Return(packed);
                }
            }
        }

        // The images tile index spans, as segments of its columns; returns how many.
        private int Split(int index, Segment<TVector>* segments)
        {
            var column = (long)index * Nr;
            var last = Math.Min(columns, column + Nr);
            var n = 0;
            while (column < last)
            {
                var (image, position) = Math.DivRem(column, (long)plane);
                var begin = (int)(column - ((long)index * Nr));
                var end = begin + (int)Math.Min(plane - position, last - column);
                var offset = (image * m * plane) + position - begin;
                segments[n++] = new Segment<TVector>((nint)(output + offset), (nint)(input + (image * k * plane) + position - begin), begin, end,
                    TLanes.LanesIn(0, begin, end), TLanes.LanesIn(Lanes, begin, end));
                column += end - begin;
            }

            return n;
        }

        // How many tiles from first on are whole, gathered and side by side in one image (at least 1): with
        // 256-bit vectors only, whose tiles are each one cache line a row. Packed tile by tile, such tiles
        // read k single-line streams a plane apart in turn; packed as a run, each plane's row is one
        // sequential read. (The AVX-512 kernel was tuned with tile-by-tile packing and keeps it.)
        private static int Adjacent(Segment<TVector>* segments, int[] starts, Source[] sources, int first, int count)
        {
            if (TLanes.Count != Lanes256.Count || sources[first].Whole == 0)
            {
                return 1;
            }

            var input = segments[starts[first]].Input;
            var run = 1;
            while (first + run < count && sources[first + run].Address == 0 && sources[first + run].Whole != 0
                && segments[starts[first + run]].Input == input + (run * Nr * sizeof(float)))
            {
                run++;
            }

            return run;
        }

        // Tiles whole and side by side in one image, from column 0 of the first at input, gathered into
        // k consecutive rows each, one tile after another from b, reading each input plane's part in one pass.
        private void PackRun(float* input, int tiles, float* b)
        {
            for (var d = 0; d < k; d++)
            {
                var src = input + ((long)d * plane);
                var dst = b + (d * Nr);
                for (var t = 0; t < tiles; t++, src += Nr, dst += k * Nr)
                {
                    TLanes.Store(TLanes.Load(src), dst);
                    TLanes.Store(TLanes.Load(src + Lanes), dst + Lanes);
                }
            }
        }

        // The tile's k rows gathered from the NCHW planes into consecutive rows of b; columns past the
        // batch's last are zero. Masked loads merge the images' parts of a row.
        private void PackTile(Segment<TVector>* segments, int count, float* b)
        {
            if (count == 1 && segments[0].Begin == 0 && segments[0].End == Nr)
            {
                PackRun((float*)segments[0].Input, 1, b);
                return;
            }

            for (var d = 0; d < k; d++, b += Nr)
            {
                TVector v0 = default, v1 = default;
                for (var s = 0; s < count; s++)
                {
                    var src = (float*)segments[s].Input + ((long)d * plane);
                    v0 = TLanes.MaskLoad(src, segments[s].Low, v0);
                    v1 = TLanes.MaskLoad(src + Lanes, segments[s].High, v1);
                }

                TLanes.Store(v0, b);
                TLanes.Store(v1, b + Lanes);
            }
        }

        // The weight panel (rows of it) against one tile, rows ldb apart: with 512-bit vectors in one
        // micro-kernel of up to 12 rows (24 of 32 registers), with 256-bit ones in halves of up to 6 rows
        // (12 of AVX2's 16 registers; 12 rows would spill).
        private void Panel(int rows, float* panel, float* b, int ldb, in Tile<TLanes, TVector> tile)
        {
            if (Lanes == Lanes512.Count)
            {
                switch (rows)
                {
                    case > 8:
                        Multiply<TLanes, TVector, Twelve>(k, panel, b, ldb, tile);
                        break;
                    case > 4:
                        Multiply<TLanes, TVector, Eight>(k, panel, b, ldb, tile);
                        break;
                    default:
                        Multiply<TLanes, TVector, Four>(k, panel, b, ldb, tile);
                        break;
                }

                return;
            }

            if (rows > Mr / 2)
            {
                Multiply<TLanes, TVector, Six>(k, panel, b, ldb, tile);
                Half(rows - (Mr / 2), panel + (Mr / 2), b, ldb, tile.Below(Mr / 2));
            }
            else
            {
                Half(rows, panel, b, ldb, tile);
            }
        }

        // Up to 6 rows of a panel from its row at panel.
        private void Half(int rows, float* panel, float* b, int ldb, in Tile<TLanes, TVector> tile)
        {
            if (rows > 4)
            {
                Multiply<TLanes, TVector, Six>(k, panel, b, ldb, tile);
            }
            else
            {
                Multiply<TLanes, TVector, Four>(k, panel, b, ldb, tile);
            }
        }
    }

    // Where a tile's rows are read (Address, rows Stride apart; 0 until gathered) and, for a tile
    // whole inside one image, where its output's column 0 is (Whole; 0 otherwise).
    private record struct Source(nint Address, int Stride, nint Whole);

    // Columns [Begin, End) of a tile, which lie in one image: Output and Input are where the tile's
    // column 0 would be in that image's first output and input planes (masked lanes are never touched);
    // Low and High mask the columns of the tile's two vectors.
    private readonly record struct Segment<TVector>(nint Output, nint Input, int Begin, int End, TVector Low, TVector High)
        where TVector : unmanaged;

    // One tile of output: the first rows of the 12 the micro-kernels compute, stored image by image
    // with its epilogue (bias, residual, clamp).
    // A tile whole inside one image (most tiles) stores through plain vectors at whole, where its
    // column 0 is (null otherwise): with masks loaded per row, shallow layers (16 or 64 channels deep,
    // where a tile's stores are a fair share of its work) took about 30% longer.
    private readonly struct Tile<TLanes, TVector>(Segment<TVector>* segments, int count, float* whole, long rowOffset, long ldc, float* bias, int rows,
        Bounds<TVector> bounds, bool accumulate)
        where TLanes : struct, IFloatLanes<TVector>
        where TVector : unmanaged
    {
        /// <summary>This tile from its row <paramref name="r"/> on, as row 0.</summary>
        public Tile<TLanes, TVector> Below(int r) =>
            new(segments, count, whole, rowOffset + (r * ldc), ldc, bias == null ? null : bias + r, rows - r, bounds, accumulate);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(int r, TVector v0, TVector v1)
        {
            if (r >= rows)
            {
                return;
            }

            var lanes = TLanes.Count;
            var offset = rowOffset + (r * ldc);
            if (bias != null)
            {
                var b = TLanes.Create(bias[r]);
                v0 = TLanes.Add(v0, b);
                v1 = TLanes.Add(v1, b);
            }

            if (whole != null)
            {
                var row = whole + offset;
                if (accumulate)
                {
                    v0 = TLanes.Add(v0, TLanes.Load(row));
                    v1 = TLanes.Add(v1, TLanes.Load(row + lanes));
                }

                TLanes.Store(TLanes.Clamp(v0, bounds.Low, bounds.High), row);
                TLanes.Store(TLanes.Clamp(v1, bounds.Low, bounds.High), row + lanes);
                return;
            }

            if (accumulate)
            {
                TVector r0 = default, r1 = default;
                for (var s = 0; s < count; s++)
                {
                    var row = (float*)segments[s].Output + offset;
                    r0 = TLanes.MaskLoad(row, segments[s].Low, r0);
                    r1 = TLanes.MaskLoad(row + lanes, segments[s].High, r1);
                }

                v0 = TLanes.Add(v0, r0);
                v1 = TLanes.Add(v1, r1);
            }

            v0 = TLanes.Clamp(v0, bounds.Low, bounds.High);
            v1 = TLanes.Clamp(v1, bounds.Low, bounds.High);
            for (var s = 0; s < count; s++)
            {
                var row = (float*)segments[s].Output + offset;
                TLanes.MaskStore(v0, row, segments[s].Low);
                TLanes.MaskStore(v1, row + lanes, segments[s].High);
            }
        }
    }

    // The clamp of ReLU, Clip or none; infinite bounds for activations applied afterwards.
    private readonly record struct Bounds<TVector>(TVector Low, TVector High);

    // C[rows×2 vectors] = A-panel · B-tile over the whole depth, in up to 24 accumulators, reading the
    // first TRows rows of a 12-row panel; TRows, a struct type argument, makes the JIT compile each
    // height separately without the others' code.
    private static void Multiply<TLanes, TVector, TRows>(int k, float* a, float* b, int ldb, in Tile<TLanes, TVector> tile)
        where TLanes : struct, IFloatLanes<TVector>
        where TVector : unmanaged
        where TRows : struct, IRowCount
    {
        var lanes = TLanes.Count;
        TVector c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        TVector c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        TVector c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        TVector c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        for (var p = 0; p < k; p++)
        {
            var b0 = TLanes.Load(b);
            var b1 = TLanes.Load(b + lanes);
            MultiplyRow<TLanes, TVector>(a[0], b0, b1, ref c00, ref c01);
            MultiplyRow<TLanes, TVector>(a[1], b0, b1, ref c10, ref c11);
            MultiplyRow<TLanes, TVector>(a[2], b0, b1, ref c20, ref c21);
            MultiplyRow<TLanes, TVector>(a[3], b0, b1, ref c30, ref c31);
            if (TRows.Count > 4)
            {
                MultiplyRow<TLanes, TVector>(a[4], b0, b1, ref c40, ref c41);
                MultiplyRow<TLanes, TVector>(a[5], b0, b1, ref c50, ref c51);
            }

            if (TRows.Count > 6)
            {
                MultiplyRow<TLanes, TVector>(a[6], b0, b1, ref c60, ref c61);
                MultiplyRow<TLanes, TVector>(a[7], b0, b1, ref c70, ref c71);
            }

            if (TRows.Count > 8)
            {
                MultiplyRow<TLanes, TVector>(a[8], b0, b1, ref c80, ref c81);
                MultiplyRow<TLanes, TVector>(a[9], b0, b1, ref c90, ref c91);
                MultiplyRow<TLanes, TVector>(a[10], b0, b1, ref ca0, ref ca1);
                MultiplyRow<TLanes, TVector>(a[11], b0, b1, ref cb0, ref cb1);
            }

            a += Mr;
            b += ldb;
        }

        tile.Store(0, c00, c01);
        tile.Store(1, c10, c11);
        tile.Store(2, c20, c21);
        tile.Store(3, c30, c31);
        if (TRows.Count > 4)
        {
            tile.Store(4, c40, c41);
            tile.Store(5, c50, c51);
        }

        if (TRows.Count > 6)
        {
            tile.Store(6, c60, c61);
            tile.Store(7, c70, c71);
        }

        if (TRows.Count > 8)
        {
            tile.Store(8, c80, c81);
            tile.Store(9, c90, c91);
            tile.Store(10, ca0, ca1);
            tile.Store(11, cb0, cb1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyRow<TLanes, TVector>(float a, TVector b0, TVector b1, ref TVector c0, ref TVector c1)
        where TLanes : struct, IFloatLanes<TVector>
        where TVector : unmanaged
    {
        var av = TLanes.Create(a);
        c0 = TLanes.FusedMultiplyAdd(b0, av, c0);
        c1 = TLanes.FusedMultiplyAdd(b1, av, c1);
    }

    /// <summary>How many rows of a weight panel a micro-kernel computes, as a type.</summary>
    private interface IRowCount
    {
        static abstract int Count { get; }
    }

    private struct Four : IRowCount
    {
        public static int Count => 4;
    }

    private struct Six : IRowCount
    {
        public static int Count => 6;
    }

    private struct Eight : IRowCount
    {
        public static int Count => 8;
    }

    private struct Twelve : IRowCount
    {
        public static int Count => 12;
    }
}

