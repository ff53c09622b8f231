using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// 1×1 convolutions of at most <see cref="MaxDepth"/> input channels (MobileNets' expansions and
/// projections, most of ResNet's, strided ones on a subsampled copy of the input) with AVX-512: out[OC, N·HW] = W[OC, C] · in[C, N·HW], the batch's
/// columns taken as one matrix. The general GEMM clears C before accumulating into it and runs one
/// image's 49 or 196 columns at a time; here each task takes a run of 32-column tiles (which may span
/// two images), gathers those of small planes and those spanning images from the NCHW planes into
/// contiguous rows, once, and reads the others in place, while the 12-row panels of the weights
/// (packed once per model, per call without its cache) stream past them; each 12×32 tile keeps its sums in
/// 24 registers over the whole depth and is stored once, image by image, with bias, residual and
/// ReLU/Clip applied.
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

    private const int Lanes = 16;
    private const int Nr = 2 * Lanes;
    private const int Mr = 12;

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
    /// Whether this kernel runs the convolution: AVX-512, a 1×1 window without padding, one group, at most
    /// <see cref="MaxDepth"/> deep. Strided ones (ResNet's downsampling shortcuts) run on a subsampled
    /// copy of the input. At 28×28 outputs alone (the same input on every call, partly in cache) that was
    /// slower than the GEMM's image-by-image copies, but in the network, where the input comes from
    /// memory either way, faster (ResNet-50's 256→512: 5.3 against 5.8 ms a batch of 8, medians of 8
    /// profiles; docs/benchmarks/2026-12-03-downsample.md).
    /// </summary>
    public static bool Applies(in Conv2dGeometry g) =>
        Avx512F.IsSupported && g.Groups == 1 && g.KernelHeight == 1 && g.KernelWidth == 1
        && g.PadTop == 0 && g.PadLeft == 0 && g.PadBottom == 0 && g.PadRight == 0 && g.InChannels <= MaxDepth;

    /// <summary>
    /// output = act(W·input + bias), or act(output + W·input + bias) with <paramref name="accumulate"/>.
    /// With <paramref name="weights"/> that keep their forms, the packed weights are made once per model.
    /// </summary>
    public static void Run(in Conv2dGeometry g, float* input, WeightCache weights, float* bias, float* output, in FusedActivation activation, bool accumulate)
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
                    Subsample(g, input, p);
                    Run(g with { InHeight = g.OutHeight, InWidth = g.OutWidth, StrideHeight = 1, StrideWidth = 1 }, p, weights, bias, output, activation, accumulate);
                }
            }
            finally
            {
                HostArrayPool.Shared.Return(subsampled);
            }

            return;
        }

        int m = g.OutChannels, k = g.InChannels;
        var length = (((m + Mr - 1) / Mr) * Mr * k) + Lanes;
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
                Multiply(g, CacheLine.Align(p), input, bias, output, activation, accumulate);
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
                Multiply(g, a, input, bias, output, activation, accumulate);
            }
        }
        finally
        {
            HostArrayPool.Shared.Return(packed);
        }
    }

    // Tiles of 32 columns over the batch's columns taken as one matrix (image after image, so a tile
    // may end in one image and go on in the next): small planes waste no lanes on partial tiles
    // (7×7 is 49 columns, 14×14 196). Each task takes a run of tiles; the runs are even and their
    // number a multiple of the threads, since at 7×7 a batch is only about a dozen tiles.
    private static void Multiply(in Conv2dGeometry g, float* a, float* input, float* bias, float* output, in FusedActivation activation, bool accumulate)
    {
        int m = g.OutChannels, k = g.InChannels, plane = g.InHeight * g.InWidth;
        var columns = (long)g.Batch * plane;
        var tiles = (int)((columns + Nr - 1) / Nr);
        var threads = CpuParallel.MaxThreads;
        var perTask = Math.Max(1, TaskFloats / (k * Nr));
        var tasks = Math.Max((tiles + perTask - 1) / perTask, Math.Min(tiles, 2 * threads));
        tasks = Math.Min(tiles, (tasks + threads - 1) / threads * threads);
        var job = new Job(a, m, k, plane, columns, input, bias, output, activation, accumulate);
        CpuParallel.For(tasks, (long)m * k * Nr * tiles / tasks, t =>
            job.Tiles((int)((long)t * tiles / tasks), (int)((long)(t + 1) * tiles / tasks)));
    }

    // sub[n, c] = input[n, c] at every stride-th row and column (planes of OH×OW), plane by plane
    // on all threads.
    private static void Subsample(in Conv2dGeometry g, float* input, float* sub)
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
                    EvenColumns(src, dst, outWidth, width);
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

    // dst[j] = src[2j] for j < count, reading no further than src[available - 1]: 16 a step from two
    // loads and a two-source permute, the rest of the row with masked loads and stores.
    private static void EvenColumns(float* src, float* dst, int count, int available)
    {
        var evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var j = 0;
        for (; j + Lanes <= count && (2 * j) + Nr <= available; j += Lanes)
        {
            Avx512F.PermuteVar16x32x2(Vector512.Load(src + (2 * j)), evens, Vector512.Load(src + (2 * j) + Lanes)).Store(dst + j);
        }

        if (j < count)
        {
            // At most 16 outputs are left: the loop stops only where fewer than 32 inputs remain.
            var indices = Vector512<int>.Indices;
            var left = Vector512.Create(available - (2 * j));
            var low = Avx512F.MaskLoad(src + (2 * j), Vector512.LessThan(indices, left).AsSingle(), Vector512<float>.Zero);
            var high = Avx512F.MaskLoad(src + (2 * j) + Lanes, Vector512.LessThan(indices + Vector512.Create(Lanes), left).AsSingle(), Vector512<float>.Zero);
            Avx512F.MaskStore(dst + j, Vector512.LessThan(indices, Vector512.Create(count - j)).AsSingle(), Avx512F.PermuteVar16x32x2(low, evens, high));
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

    private readonly struct Job(float* a, int m, int k, int plane, long columns, float* input, float* bias, float* output,
        FusedActivation activation, bool accumulate)
    {
        // Tiles [first, end) of the batch, every output channel: weight panels outside, tiles inside.
        public void Tiles(int first, int end)
        {
            var (clamps, lo, hi) = ActivationKernel.ClampBounds(activation);
            var bounds = new Bounds(Vector512.Create(lo), Vector512.Create(hi));
            var count = end - first;

            // A tile's columns lie in at most this many images.
            var perTile = ((Nr - 1) / plane) + 2;
            var segments = ArrayPool<Segment>.Shared.Rent(count * perTile);
            var starts = ArrayPool<int>.Shared.Rent(count + 1);
            var sources = ArrayPool<Source>.Shared.Rent(count);
            float[]? packed = null;
            try
            {
                fixed (Segment* pSegments = segments)
                {
                    var used = 0;
                    var copies = 0;
                    for (var t = 0; t < count; t++)
                    {
                        starts[t] = used;
                        used += Split(first + t, pSegments + used);
                        var head = pSegments[starts[t]];
                        var whole = used - starts[t] == 1 && head.Begin == 0 && head.End == Nr;
                        sources[t] = whole && plane >= InPlacePlane ? new Source(head.Input, plane, head.Output) : new Source(0, Nr, whole ? head.Output : 0);
                        copies += sources[t].Address == 0 ? 1 : 0;
                    }

                    starts[count] = used;
                    packed = copies == 0 ? null : HostArrayPool.Shared.Rent((copies * k * Nr) + Lanes);
                    fixed (float* pPacked = packed)
                    {
                        var b = pPacked == null ? null : CacheLine.Align(pPacked);
                        for (var t = 0; t < count; t++)
                        {
                            if (sources[t].Address == 0)
                            {
                                PackTile(pSegments + starts[t], starts[t + 1] - starts[t], b);
                                sources[t].Address = (nint)b;
                                b += k * Nr;
                            }
                        }

                        for (var r = 0; r < m; r += Mr)
                        {
                            var rows = Math.Min(Mr, m - r);
                            var panel = a + ((long)r * k);
                            var rowBias = bias == null ? null : bias + r;
                            for (var t = 0; t < count; t++)
                            {
                                var tile = new Tile(pSegments + starts[t], starts[t + 1] - starts[t], (float*)sources[t].Whole, (long)r * plane, plane, rowBias, rows,
                                    bounds, accumulate);
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
                ArrayPool<Segment>.Shared.Return(segments);
                if (packed is not null)
                {
                    HostArrayPool.Shared.Return(packed);
                }
            }
        }

        // The images tile index spans, as segments of its 32 columns; returns how many.
        private int Split(int index, Segment* segments)
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
                segments[n++] = new Segment((nint)(output + offset), (nint)(input + (image * k * plane) + position - begin), begin, end);
                column += end - begin;
            }

            return n;
        }

        // The tile's k rows of 32 columns gathered from the NCHW planes into consecutive rows of b;
        // columns past the batch's last are zero. Masked loads merge the images' parts of a row.
        private void PackTile(Segment* segments, int count, float* b)
        {
            if (count == 1 && segments[0].Begin == 0 && segments[0].End == Nr)
            {
                var src = (float*)segments[0].Input;
                for (var d = 0; d < k; d++, src += plane, b += Nr)
                {
                    Vector512.Store(Vector512.Load(src), b);
                    Vector512.Store(Vector512.Load(src + Lanes), b + Lanes);
                }

                return;
            }

            for (var d = 0; d < k; d++, b += Nr)
            {
                Vector512<float> v0 = default, v1 = default;
                for (var s = 0; s < count; s++)
                {
                    var src = (float*)segments[s].Input + ((long)d * plane);
                    v0 = Avx512F.MaskLoad(src, segments[s].Low, v0);
                    v1 = Avx512F.MaskLoad(src + Lanes, segments[s].High, v1);
                }

                Vector512.Store(v0, b);
                Vector512.Store(v1, b + Lanes);
            }
        }

        // The weight panel (rows of it) against one tile of 32 columns, rows ldb apart.
        private void Panel(int rows, float* panel, float* b, int ldb, in Tile tile)
        {
            switch (rows)
            {
                case > 8:
                    Multiply<Twelve>(k, panel, b, ldb, tile);
                    break;
                case > 4:
                    Multiply<Eight>(k, panel, b, ldb, tile);
                    break;
                default:
                    Multiply<Four>(k, panel, b, ldb, tile);
                    break;
            }
        }
    }

    // Where a tile's rows are read (Address, rows Stride apart; 0 until gathered) and, for a tile
    // whole inside one image, where its output's column 0 is (Whole; 0 otherwise).
    private record struct Source(nint Address, int Stride, nint Whole);

    // Columns [Begin, End) of a tile, which lie in one image: Output and Input are where the tile's
    // column 0 would be in that image's first output and input planes (masked lanes are never touched).
    private readonly struct Segment
    {
        public Segment(nint output, nint input, int begin, int end)
        {
            Output = output;
            Input = input;
            Begin = begin;
            End = end;
            var indices = Vector512<int>.Indices;
            Low = (Vector512.GreaterThanOrEqual(indices, Vector512.Create(begin)) & Vector512.LessThan(indices, Vector512.Create(end))).AsSingle();
            indices += Vector512.Create(Lanes);
            High = (Vector512.GreaterThanOrEqual(indices, Vector512.Create(begin)) & Vector512.LessThan(indices, Vector512.Create(end))).AsSingle();
        }

        public nint Output { get; }

        public nint Input { get; }

        public int Begin { get; }

        public int End { get; }

        public Vector512<float> Low { get; }

        public Vector512<float> High { get; }
    }

    // One tile of output: the first rows of the 12×32 the micro-kernel computes, stored image by image
    // with its epilogue (bias, residual, clamp).
    // A tile whole inside one image (most tiles) stores through plain vectors at whole, where its
    // column 0 is (null otherwise): with masks loaded per row, shallow layers (16 or 64 channels deep,
    // where a tile's stores are a fair share of its work) took about 30% longer.
    private readonly struct Tile(Segment* segments, int count, float* whole, long rowOffset, long ldc, float* bias, int rows, Bounds bounds, bool accumulate)
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(int r, Vector512<float> v0, Vector512<float> v1)
        {
            if (r >= rows)
            {
                return;
            }

            var offset = rowOffset + (r * ldc);
            if (bias != null)
            {
                var b = Vector512.Create(bias[r]);
                v0 += b;
                v1 += b;
            }

            if (whole != null)
            {
                var row = whole + offset;
                if (accumulate)
                {
                    v0 += Vector512.Load(row);
                    v1 += Vector512.Load(row + Lanes);
                }

                Avx512F.Min(Avx512F.Max(v0, bounds.Low), bounds.High).Store(row);
                Avx512F.Min(Avx512F.Max(v1, bounds.Low), bounds.High).Store(row + Lanes);
                return;
            }

            if (accumulate)
            {
                Vector512<float> r0 = default, r1 = default;
                for (var s = 0; s < count; s++)
                {
                    var row = (float*)segments[s].Output + offset;
                    r0 = Avx512F.MaskLoad(row, segments[s].Low, r0);
                    r1 = Avx512F.MaskLoad(row + Lanes, segments[s].High, r1);
                }

                v0 += r0;
                v1 += r1;
            }

            v0 = Avx512F.Min(Avx512F.Max(v0, bounds.Low), bounds.High);
            v1 = Avx512F.Min(Avx512F.Max(v1, bounds.Low), bounds.High);
            for (var s = 0; s < count; s++)
            {
                var row = (float*)segments[s].Output + offset;
                Avx512F.MaskStore(row, segments[s].Low, v0);
                Avx512F.MaskStore(row + Lanes, segments[s].High, v1);
            }
        }
    }

    // The clamp of ReLU, Clip or none; infinite bounds for activations applied afterwards.
    private readonly record struct Bounds(Vector512<float> Low, Vector512<float> High);

    // C[rows×32] = A-panel · B-tile over the whole depth, in up to 24 zmm accumulators; TRows, a
    // struct type argument, makes the JIT compile each panel height separately without the others' code.
    private static void Multiply<TRows>(int k, float* a, float* b, int ldb, in Tile tile)
        where TRows : struct, IRowCount
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<float> c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        for (var p = 0; p < k; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + Lanes);
            Fma(a[0], b0, b1, ref c00, ref c01);
            Fma(a[1], b0, b1, ref c10, ref c11);
            Fma(a[2], b0, b1, ref c20, ref c21);
            Fma(a[3], b0, b1, ref c30, ref c31);
            if (TRows.Count > 4)
            {
                Fma(a[4], b0, b1, ref c40, ref c41);
                Fma(a[5], b0, b1, ref c50, ref c51);
                Fma(a[6], b0, b1, ref c60, ref c61);
                Fma(a[7], b0, b1, ref c70, ref c71);
            }

            if (TRows.Count > 8)
            {
                Fma(a[8], b0, b1, ref c80, ref c81);
                Fma(a[9], b0, b1, ref c90, ref c91);
                Fma(a[10], b0, b1, ref ca0, ref ca1);
                Fma(a[11], b0, b1, ref cb0, ref cb1);
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
    private static void Fma(float a, Vector512<float> b0, Vector512<float> b1, ref Vector512<float> c0, ref Vector512<float> c1)
    {
        var av = Vector512.Create(a);
        c0 = Avx512F.FusedMultiplyAdd(b0, av, c0);
        c1 = Avx512F.FusedMultiplyAdd(b1, av, c1);
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

    private struct Eight : IRowCount
    {
        public static int Count => 8;
    }

    private struct Twelve : IRowCount
    {
        public static int Count => 12;
    }
}
