using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// 1×1 convolutions of at most <see cref="MaxDepth"/> input channels (MobileNets' expansions and
/// projections, most of ResNet's) with AVX-512: out[OC, HW] = W[OC, C] · in[C, HW] read straight
/// from the NCHW planes. The general GEMM packs B (the activations) and clears C before
/// accumulating into it, which at shallow depths costs about as much as the products: here each 12×32 tile
/// of output reads its 32 columns of every input channel in place (a tile of C·128 bytes, which
/// stays in cache while the 12-row panels of the weights, packed once per model (per call without its cache), stream past it and
/// its neighbours), keeps its sums in 24 registers over the whole depth, and is stored once with
/// bias, residual and ReLU/Clip applied; only a plane's last, partial tile is copied, zero-padded.
/// </summary>
internal static unsafe class PointwiseConv2dKernel
{
    /// <summary>
    /// The deepest convolution taken. Up to 1024 channels this kernel beat the GEMM on every layer it
    /// was measured on (MobileNetV2's 576- and 960-channel projections, ResNet-50's forward as a whole;
    /// docs/benchmarks/2026-12-03-mobilenet.md); deeper ones (ResNet-50's 2048) stay with the GEMM, whose
    /// depth blocks keep a 12-row weight panel in L1 where this kernel's whole-depth panels (48 KiB at
    /// 1024) no longer fit.
    /// </summary>
    public const int MaxDepth = 1024;

    private const int Lanes = 16;
    private const int Nr = 2 * Lanes;
    private const int Mr = 12;

    // Floats of activations one task's tiles span (256 KiB, a quarter of a Zen 5 core's L2): each
    // weight panel streams past all of them, so small planes (several images a task) and deep weights
    // (1280×320 is 1.6 MB) are read a few times per call, not once per tile.
    private const int TaskFloats = 1 << 16;

    /// <summary>Whether this kernel runs the convolution: AVX-512, 1×1 pointwise, one group, at most <see cref="MaxDepth"/> deep.</summary>
    public static bool Applies(in Conv2dGeometry g) =>
        Avx512F.IsSupported && g.Groups == 1 && ConvWindow.IsPointwise(g) && g.InChannels <= MaxDepth;

    /// <summary>
    /// output = act(W·input + bias), or act(output + W·input + bias) with <paramref name="accumulate"/>.
    /// With <paramref name="weights"/> that keep their forms, the packed weights are made once per model.
    /// </summary>
    public static void Run(in Conv2dGeometry g, float* input, WeightCache weights, float* bias, float* output, in FusedActivation activation, bool accumulate)
    {
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

    // Tiles of 32 columns over the whole batch, image after image; each task takes a run of them, at
    // least two tasks a thread where there are enough tiles.
    private static void Multiply(in Conv2dGeometry g, float* a, float* input, float* bias, float* output, in FusedActivation activation, bool accumulate)
    {
        int m = g.OutChannels, k = g.InChannels, plane = g.InHeight * g.InWidth;
        var tilesPerImage = (plane + Nr - 1) / Nr;
        var tiles = g.Batch * tilesPerImage;
        var perTask = Math.Clamp(TaskFloats / (k * Nr), 1, Math.Max(1, (tiles + (2 * CpuParallel.MaxThreads) - 1) / (2 * CpuParallel.MaxThreads)));
        var job = new Job(a, m, k, plane, tilesPerImage, input, bias, output, activation, accumulate);
        CpuParallel.For((tiles + perTask - 1) / perTask, (long)m * k * Nr * perTask, t =>
            job.Tiles(t * perTask, Math.Min(tiles, (t + 1) * perTask)));
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

    private readonly struct Job(float* a, int m, int k, int plane, int tilesPerImage, float* input, float* bias, float* output,
        FusedActivation activation, bool accumulate)
    {
        // Tiles [first, end) of the batch, every output channel: weight panels outside, tiles inside.
        public void Tiles(int first, int end)
        {
            var (clamps, lo, hi) = activation.Kind switch
            {
                ActivationKind.None => (true, float.NegativeInfinity, float.PositiveInfinity),
                ActivationKind.Relu => (true, 0f, float.PositiveInfinity),
                ActivationKind.Clip => (true, activation.Alpha, activation.Beta),
                _ => (false, float.NegativeInfinity, float.PositiveInfinity),
            };
            var bounds = new Bounds(Vector512.Create(lo), Vector512.Create(hi));
            var count = end - first;

            // A plane's last, partial tile is copied once, zero-padded, so its loads stay inside it.
            var lastColumns = plane - ((tilesPerImage - 1) * Nr);
            var edges = lastColumns == Nr ? 0 : (count + tilesPerImage - 1) / tilesPerImage + 1;
            var edge = edges == 0 ? null : HostArrayPool.Shared.Rent(edges * k * Nr);
            var sources = ArrayPool<nint>.Shared.Rent(count);
            try
            {
                fixed (float* pEdge = edge)
                {
                    var copied = 0;
                    for (var t = 0; t < count; t++)
                    {
                        var (n, j) = Math.DivRem(first + t, tilesPerImage);
                        var src = input + ((long)n * k * plane) + ((long)j * Nr);
                        if (j == tilesPerImage - 1 && lastColumns != Nr)
                        {
                            var tile = pEdge + ((long)copied++ * k * Nr);
                            for (var d = 0; d < k; d++)
                            {
                                var row = new Span<float>(tile + (d * Nr), Nr);
                                new ReadOnlySpan<float>(src + ((long)d * plane), lastColumns).CopyTo(row);
                                row[lastColumns..].Clear();
                            }

                            src = tile;
                        }

                        sources[t] = (nint)src;
                    }

                    for (var r = 0; r < m; r += Mr)
                    {
                        for (var t = 0; t < count; t++)
                        {
                            var (n, j) = Math.DivRem(first + t, tilesPerImage);
                            var cols = j == tilesPerImage - 1 ? lastColumns : Nr;
                            var dst = output + ((long)n * m * plane) + ((long)r * plane) + ((long)j * Nr);
                            Panel(r, (float*)sources[t], cols == Nr ? plane : Nr, dst, new Masks(cols), bounds);
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<nint>.Shared.Return(sources);
                if (edge is not null)
                {
                    HostArrayPool.Shared.Return(edge);
                }
            }

            if (!clamps)
            {
                for (var t = first; t < end; t++)
                {
                    var (n, j) = Math.DivRem(t, tilesPerImage);
                    for (var r = 0; r < m; r++)
                    {
                        var row = new Span<float>(output + ((long)((n * m) + r) * plane) + ((long)j * Nr), Math.Min(Nr, plane - (j * Nr)));
                        ActivationKernel.Apply(activation, row, row);
                    }
                }
            }
        }

        // The weight panel at row r against one tile of 32 columns (b, rows ldb apart).
        private void Panel(int r, float* b, long ldb, float* c, in Masks masks, in Bounds bounds)
        {
            var rows = Math.Min(Mr, m - r);
            var panel = a + ((long)r * k);
            var tile = new Tile(c, plane, bias == null ? null : bias + r, rows, masks, bounds, accumulate);
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

    // One tile of output: the first rows of the 12×32 the micro-kernel computes, and its epilogue.
    private readonly struct Tile(float* c, long ldc, float* bias, int rows, Masks masks, Bounds bounds, bool accumulate)
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(int r, Vector512<float> v0, Vector512<float> v1)
        {
            if (r >= rows)
            {
                return;
            }

            var row = c + (r * ldc);
            if (bias != null)
            {
                var b = Vector512.Create(bias[r]);
                v0 += b;
                v1 += b;
            }

            if (accumulate)
            {
                v0 += Avx512F.MaskLoad(row, masks.Low, Vector512<float>.Zero);
                v1 += Avx512F.MaskLoad(row + Lanes, masks.High, Vector512<float>.Zero);
            }

            Avx512F.MaskStore(row, masks.Low, Avx512F.Min(Avx512F.Max(v0, bounds.Low), bounds.High));
            Avx512F.MaskStore(row + Lanes, masks.High, Avx512F.Min(Avx512F.Max(v1, bounds.Low), bounds.High));
        }
    }

    // The lanes of a tile's two vectors that hold output columns.
    private readonly struct Masks
    {
        public Masks(int columns)
        {
            Low = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(columns)).AsSingle();
            High = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(columns - Lanes)).AsSingle();
        }

        public Vector512<float> Low { get; }

        public Vector512<float> High { get; }
    }

    // The clamp of ReLU, Clip or none; infinite bounds for activations applied afterwards.
    private readonly record struct Bounds(Vector512<float> Low, Vector512<float> High);

    // C[rows×32] = A-panel · B-tile over the whole depth, in up to 24 zmm accumulators; TRows, a
    // struct type argument, makes the JIT compile each panel height separately without the others' code.
    private static void Multiply<TRows>(int k, float* a, float* b, long ldb, in Tile tile)
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
