using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// 1×1 convolutions with a shallow depth (at most <see cref="MaxDepth"/> input channels, as in
/// MobileNets' expansions and projections) with AVX-512: out[OC, HW] = W[OC, C] · in[C, HW] read
/// straight from the NCHW planes. The general GEMM packs B (the activations) and clears C before
/// accumulating into it, which at such depths costs as much as the products: here each 12×32 tile
/// of output reads its 32 columns of every input channel in place (a tile of C·128 bytes, which
/// stays in cache while every 12-row panel of the weights, packed once per call, streams past it),
/// keeps its sums in 24 registers over the whole depth, and is stored once with bias, residual and
/// ReLU/Clip applied; only the last, partial tile of a plane is copied into a zero-padded scratch tile.
/// </summary>
internal static unsafe class PointwiseConv2dKernel
{
    /// <summary>
    /// The deepest convolution taken: one depth block of the general GEMM (<see cref="ManagedGemm"/>'s
    /// Kc), past which its blocking keeps the activations' tiles in cache and this kernel's would not.
    /// </summary>
    public const int MaxDepth = 384;

    private const int Lanes = 16;
    private const int Nr = 2 * Lanes;
    private const int Mr = 12;

    // Columns per parallel task: a few tiles, so 7×7 planes are one task per image and 112×112 ones
    // give the threads plenty to balance.
    private const int TaskColumns = 8 * Nr;

    /// <summary>Whether this kernel runs the convolution: AVX-512, 1×1 pointwise, one group, shallow.</summary>
    public static bool Applies(in Conv2dGeometry g) =>
        Avx512F.IsSupported && g.Groups == 1 && ConvWindow.IsPointwise(g) && g.InChannels <= MaxDepth;

    /// <summary>output = act(W·input + bias), or act(output + W·input + bias) with <paramref name="accumulate"/>.</summary>
    public static void Run(in Conv2dGeometry g, float* input, float* weight, float* bias, float* output, in FusedActivation activation, bool accumulate)
    {
        int m = g.OutChannels, k = g.InChannels, plane = g.InHeight * g.InWidth;
        var panels = (m + Mr - 1) / Mr;
        var packed = ArrayPool<float>.Shared.Rent((panels * Mr * k) + Lanes);
        try
        {
            fixed (float* pPacked = packed)
            {
                var a = (float*)(((nint)pPacked + 63) & ~(nint)63);
                Pack(weight, m, k, a);
                var job = new Job(a, m, k, plane, input, bias, output, activation, accumulate);
                var blocks = (plane + TaskColumns - 1) / TaskColumns;
                CpuParallel.For(g.Batch * blocks, (long)m * k * Math.Min(plane, TaskColumns), t =>
                    job.Columns(t / blocks, t % blocks * TaskColumns, Math.Min(plane, (t % blocks * TaskColumns) + TaskColumns)));
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
        }
    }

    // W (m×k, row-major) as panels of 12 rows, each k steps of 12 consecutive weights; rows past m are zero.
    private static void Pack(float* weight, int m, int k, float* a)
    {
        for (var p = 0; p < m; p += Mr)
        {
            var panel = a + ((long)p * k);
            for (var r = 0; r < Mr; r++)
            {
                var row = weight + ((long)(p + r) * k);
                for (var d = 0; d < k; d++)
                {
                    panel[(d * Mr) + r] = p + r < m ? row[d] : 0f;
                }
            }
        }
    }

    private readonly struct Job(float* a, int m, int k, int plane, float* input, float* bias, float* output, FusedActivation activation, bool accumulate)
    {
        // Output columns [j0, j1) of image n, every output channel.
        public void Columns(int n, int j0, int j1)
        {
            var (clamps, lo, hi) = activation.Kind switch
            {
                ActivationKind.None => (true, float.NegativeInfinity, float.PositiveInfinity),
                ActivationKind.Relu => (true, 0f, float.PositiveInfinity),
                ActivationKind.Clip => (true, activation.Alpha, activation.Beta),
                _ => (false, float.NegativeInfinity, float.PositiveInfinity),
            };
            var bounds = new Bounds(Vector512.Create(lo), Vector512.Create(hi));
            var src = input + ((long)n * k * plane);
            var dst = output + ((long)n * m * plane);
            float[]? edge = null;
            try
            {
                for (var j = j0; j < j1; j += Nr)
                {
                    var cols = Math.Min(Nr, j1 - j);
                    var masks = new Masks(cols);
                    if (cols == Nr)
                    {
                        Panels(src + j, plane, dst + j, masks, bounds);
                        continue;
                    }

                    // The plane's last columns, zero-padded to a whole tile so the loads stay inside it.
                    edge ??= ArrayPool<float>.Shared.Rent(k * Nr);
                    fixed (float* tile = edge)
                    {
                        for (var d = 0; d < k; d++)
                        {
                            var row = new Span<float>(tile + (d * Nr), Nr);
                            new ReadOnlySpan<float>(src + ((long)d * plane) + j, cols).CopyTo(row);
                            row[cols..].Clear();
                        }

                        Panels(tile, Nr, dst + j, masks, bounds);
                    }
                }
            }
            finally
            {
                if (edge is not null)
                {
                    ArrayPool<float>.Shared.Return(edge);
                }
            }

            if (!clamps)
            {
                for (var r = 0; r < m; r++)
                {
                    var row = new Span<float>(dst + ((long)r * plane) + j0, j1 - j0);
                    ActivationKernel.Apply(activation, row, row);
                }
            }
        }

        // Every 12-row panel of the weights against one tile of 32 columns (b, rows ldb apart).
        private void Panels(float* b, long ldb, float* c, in Masks masks, in Bounds bounds)
        {
            for (var r = 0; r < m; r += Mr)
            {
                var rows = Math.Min(Mr, m - r);
                var panel = a + ((long)r * k);
                var tile = new Tile(c + ((long)r * plane), plane, bias == null ? null : bias + r, rows, masks, bounds, accumulate);
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
