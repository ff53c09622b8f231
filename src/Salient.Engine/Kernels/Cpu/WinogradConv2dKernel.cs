using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Winograd F(2×2, 3×3) for 3×3, stride-1, undilated, ungrouped convolutions. Each 4×4 input tile d
/// becomes V = Bᵀ·d·B and each filter g becomes U = G·g·Gᵀ; a tile's 2×2 outputs are Aᵀ·(U ⊙ V)·A,
/// 16 multiplies per channel instead of 36. The 16 elementwise products summed over channels are
/// 16 GEMMs M_ξ[OC, T] = U_ξ[OC, C] · V_ξ[C, T], T tiles taken from whole tile rows across the
/// batch, so the 14×14 and 7×7 layers still make wide GEMMs; chunks of tile rows run on separate
/// threads. The transforms run along each tile row, or on narrow planes across the chunk's tiles, a
/// vector at a time (<see cref="WinogradTileMajor{TTile, TLanes, TVector}"/>, as F(4×4) does). The transforms'
/// coefficients are 0, ±½ and ±1, so the result differs from direct convolution only by float
/// reassociation: a relative error of about 1e-6 on ResNet layers.
/// The filters' transforms are made per call, or once per model when the call brings a
/// <see cref="WeightCache"/> that keeps them (<see cref="WinogradWeights"/>).
/// </summary>
internal static unsafe class WinogradConv2dKernel
{
    private const int Points = 16;

    // Tiles per GEMM: wide enough to run near the GEMM's peak, small enough that a chunk's V and M
    // (16·(C + OC)·T floats) stay within the last-level cache.
    private const int TargetTiles = 192;

    // With fewer channels the GEMMs are too thin for the saved multiplies to pay for the transforms.
    private const int MinChannels = 16;

    // Smaller planes waste too much of their edge tiles and make GEMMs too thin per weight transform:
    // ResNet-50's 14×14 layers ran as fast as im2col, its 7×7 ones slower. With the weights
    // transformed once per model (kept in its cache) only the tiles' transforms remain, and down to
    // 7×7 planes (4×4 tiles, the last row and column half used) Winograd wins: ResNet's 256-channel
    // 14×14 and 512-channel 7×7 layers, batch 4 on one core, went from 160–163 to 216–218 and from
    // 141–143 to 181–191 GFLOP/s.
    private const int MinTilesPerImage = 64;
    private const int MinTilesPerImageKept = 16;

    /// <summary>
    /// Whether <paramref name="g"/> is a convolution this kernel computes, and faster than im2col, with
    /// the weights transformed per call or (<paramref name="cache"/> keeping them) once per model.
    /// </summary>
    public static bool Applies(in Conv2dGeometry g, CpuGemm gemm, WeightCache cache) =>
        IsWinogradShape(g) && ((g.OutHeight + 1) / 2) * ((g.OutWidth + 1) / 2) >= (WinogradWeights.Lasting(gemm, cache) ? MinTilesPerImageKept : MinTilesPerImage);

    /// <summary>Whether <paramref name="g"/> is a 3×3 stride-1 undilated ungrouped convolution with enough channels for any Winograd kernel.</summary>
    public static bool IsWinogradShape(in Conv2dGeometry g) =>
        g.KernelHeight == 3 && g.KernelWidth == 3 && g.StrideHeight == 1 && g.StrideWidth == 1
        && g.DilationHeight == 1 && g.DilationWidth == 1 && g.Groups == 1
        && g.InChannels >= MinChannels && g.OutChannels >= MinChannels;

    /// <summary>
    /// Tile rows per chunk of <paramref name="rows"/> rows of <paramref name="tilesPerRow"/> tiles: about
    /// <paramref name="targetTiles"/> tiles a chunk, and a whole number of chunks per thread where there are enough rows.
    /// </summary>
    public static int RowsPerChunk(int rows, int tilesPerRow, int targetTiles)
    {
        var threads = CpuParallel.MaxThreads;
        var chunks = Math.Max(1, ((rows * tilesPerRow) + (targetTiles / 2)) / targetTiles);
        chunks = Math.Min(rows, (chunks + threads - 1) / threads * threads);
        return (rows + chunks - 1) / chunks;
    }

    /// <summary>
    /// Any 3×3 stride-1 undilated ungrouped convolution, with any padding; the caller has validated the buffers.
    /// With <paramref name="accumulate"/> the output's values join the sum before the activation.
    /// </summary>
    public static void Run(CpuGemm gemm, in Conv2dGeometry g, float* input, WeightCache weights, float* bias, float* output, in FusedActivation activation,
        bool accumulate = false)
    {
        using var transformed = WinogradWeights.For<Tile>(gemm, g, weights, flipped: false);
        Run(gemm, g, input, transformed, bias, output, activation, accumulate);
    }

    private static void Run(CpuGemm gemm, in Conv2dGeometry g, float* input, WinogradWeights lhs, float* bias, float* output, in FusedActivation activation,
        bool accumulate)
    {
        if (RunsTileMajor(g, gemm))
        {
            WinogradTileMajor.Run<Tile>(gemm, g, input, lhs, bias, output, activation, accumulate, TargetTiles);
            return;
        }

        var rows = g.Batch * ((g.OutHeight + 1) / 2);
        var rowsPerChunk = RowsPerChunk(rows, (g.OutWidth + 1) / 2, TargetTiles);
        var job = new Job(g, input, lhs, bias, output, activation, accumulate, rows, rowsPerChunk);
        gemm.ForEachSingleThreaded((rows + rowsPerChunk - 1) / rowsPerChunk, job.Chunk);
    }

    /// <summary>
    /// Whether <paramref name="g"/>'s transforms run on 16 tiles at once across tile rows (<see cref="WinogradTileMajor{TTile, TLanes, TVector}"/>)
    /// rather than along each tile row: on planes of fewer than 8 tiles a row (ResNet's 14×14 and 7×7), where the row
    /// transforms' Vector256 steps never fill and every tile is transformed one scalar at a time.
    /// </summary>
    private static bool RunsTileMajor(in Conv2dGeometry g, CpuGemm gemm) =>
        WinogradTileMajor.Supported(gemm) && (g.OutWidth + 1) / 2 < 8;

    /// <summary>Whether <see cref="BackwardData"/> computes the input gradient of <paramref name="g"/>.</summary>
    public static bool AppliesToBackwardData(in Conv2dGeometry g, CpuGemm gemm, WeightCache cache) =>
        Applies(g, gemm, cache) && g.PadTop <= 2 && g.PadLeft <= 2 && g.PadBottom <= 2 && g.PadRight <= 2;

    /// <summary>
    /// The input gradient of a convolution <see cref="AppliesToBackwardData"/> accepts: the stride-1
    /// convolution of the output gradient, padded by 2 - pad, with the filters flipped and their
    /// channel axes swapped.
    /// </summary>
    public static void BackwardData(CpuGemm gemm, in Conv2dGeometry g, WeightCache weights, float* outputGradient, float* inputGradient)
    {
        using var transformed = WinogradWeights.For<Tile>(gemm, g, weights, flipped: true);
        Run(gemm, BackwardGeometry(g), outputGradient, transformed, null, inputGradient, FusedActivation.None, false);
    }

    /// <summary>The stride-1 convolution <see cref="BackwardData"/> runs for <paramref name="g"/>'s input gradient.</summary>
    public static Conv2dGeometry BackwardGeometry(in Conv2dGeometry g) =>
        new(g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, g.InChannels, 3, 3, 1, 1,
            2 - g.PadTop, 2 - g.PadLeft, 2 - g.PadBottom, 2 - g.PadRight, 1, 1, 1);

    // The F(2×2, 3×3) transforms.
    private readonly struct Tile : IWinogradVectorTile
    {
        public static int Points => WinogradConv2dKernel.Points;

        public static int Size => 2;

        // Bᵀ's rows (1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void InputColumn<TLanes, TVector>(float* src, long srcStride, float* dst, long dstStride)
            where TLanes : struct, IFloatLanes<TVector>
            where TVector : unmanaged
        {
            var d0 = TLanes.Load(src);
            var d1 = TLanes.Load(src + srcStride);
            var d2 = TLanes.Load(src + (2 * srcStride));
            var d3 = TLanes.Load(src + (3 * srcStride));
            TLanes.Store(TLanes.Subtract(d0, d2), dst);
            TLanes.Store(TLanes.Add(d1, d2), dst + dstStride);
            TLanes.Store(TLanes.Subtract(d2, d1), dst + (2 * dstStride));
            TLanes.Store(TLanes.Subtract(d1, d3), dst + (3 * dstStride));
        }

        // Aᵀ's rows (1, 1, 1, 0), (0, 1, -1, -1).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void OutputColumn<TLanes, TVector>(float* src, long srcStride, float* dst, long dstStride)
            where TLanes : struct, IFloatLanes<TVector>
            where TVector : unmanaged
        {
            var m0 = TLanes.Load(src);
            var m1 = TLanes.Load(src + srcStride);
            var m2 = TLanes.Load(src + (2 * srcStride));
            var m3 = TLanes.Load(src + (3 * srcStride));
            TLanes.Store(TLanes.Add(TLanes.Add(m0, m1), m2), dst);
            TLanes.Store(TLanes.Subtract(TLanes.Subtract(m1, m2), m3), dst + dstStride);
        }

        /// <summary>U = G·g·Gᵀ with G's rows (1, 0, 0), (½, ½, ½), (½, -½, ½), (0, 0, 1).</summary>
        public static void TransformFilters(int start, int end, int filters, float* weight, float* u)
        {
            var t = stackalloc float[12];
            for (var f = start; f < end; f++)
            {
                var w = weight + (f * 9L);
                for (var j = 0; j < 3; j++)
                {
                    // G·g, column j: rows g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2.
                    float g0 = w[j], g1 = w[3 + j], g2 = w[6 + j];
                    t[j] = g0;
                    t[3 + j] = 0.5f * (g0 + g1 + g2);
                    t[6 + j] = 0.5f * (g0 - g1 + g2);
                    t[9 + j] = g2;
                }

                for (var i = 0; i < 4; i++)
                {
                    float t0 = t[3 * i], t1 = t[(3 * i) + 1], t2 = t[(3 * i) + 2];
                    var dst = u + f;
                    dst[(long)((4 * i) + 0) * filters] = t0;
                    dst[(long)((4 * i) + 1) * filters] = 0.5f * (t0 + t1 + t2);
                    dst[(long)((4 * i) + 2) * filters] = 0.5f * (t0 - t1 + t2);
                    dst[(long)((4 * i) + 3) * filters] = t2;
                }
            }
        }
    }

    private sealed class Job(Conv2dGeometry g, float* input, WinogradWeights lhs, float* bias, float* output,
        FusedActivation activation, bool accumulate, int rows, int rowsPerChunk)
    {
        private readonly int _tilesW = (g.OutWidth + 1) / 2;
        private readonly int _tilesH = (g.OutHeight + 1) / 2;

        /// <summary>Transforms, multiplies and writes back tile rows [chunk·rowsPerChunk, +rowsPerChunk).</summary>
        public void Chunk(int chunk)
        {
            var first = chunk * rowsPerChunk;
            var count = Math.Min(rowsPerChunk, rows - first);
            var tiles = count * _tilesW;
            long c = g.InChannels, oc = g.OutChannels;
            var vBuffer = HostArrayPool.Shared.Rent((int)(Points * c * tiles));
            var mBuffer = HostArrayPool.Shared.Rent((int)(Points * oc * tiles));
            var scratchBuffer = HostArrayPool.Shared.Rent(8 * (_tilesW + 1));
            try
            {
                fixed (float* v = vBuffer, m = mBuffer, scratch = scratchBuffer)
                {
                    for (var r = 0; r < count; r++)
                    {
                        var (n, ty) = Math.DivRem(first + r, _tilesH);
                        var image = input + ((long)n * c * g.InHeight * g.InWidth);
                        for (var ch = 0; ch < c; ch++)
                        {
                            InputRow(image + (ch * g.InHeight * g.InWidth), ty, scratch, v + (ch * tiles) + (r * _tilesW), c * tiles);
                        }
                    }

                    for (var p = 0; p < Points; p++)
                    {
                        CpuGemm.Multiply(lhs[p], tiles, v + (p * c * tiles), tiles, m + (p * oc * tiles), tiles, singleThreaded: true);
                    }

                    for (var r = 0; r < count; r++)
                    {
                        var (n, ty) = Math.DivRem(first + r, _tilesH);
                        var result = output + ((long)n * oc * g.OutHeight * g.OutWidth);
                        for (var o = 0; o < oc; o++)
                        {
                            OutputRow(m + (o * tiles) + (r * _tilesW), oc * tiles, scratch, result + (o * g.OutHeight * g.OutWidth), ty,
                                bias == null ? 0f : bias[o]);
                        }
                    }
                }
            }
            finally
            {
                HostArrayPool.Shared.Return(vBuffer);
                HostArrayPool.Shared.Return(mBuffer);
                HostArrayPool.Shared.Return(scratchBuffer);
            }
        }

        /// <summary>
        /// V = Bᵀ·d·B for the tiles of tile row <paramref name="ty"/> of one channel plane, written to
        /// v[ξ·pointStride + tx]. The four input rows are split into even and odd columns first, so
        /// tile tx reads columns (E[tx], O[tx], E[tx+1], O[tx+1]) and the transform vectorises over tx.
        /// </summary>
        private void InputRow(float* plane, int ty, float* scratch, float* v, long pointStride)
        {
            var width = _tilesW + 1;
            for (var k = 0; k < 4; k++)
            {
                var even = scratch + (2 * k * width);
                var odd = even + width;
                var iy = (2 * ty) - g.PadTop + k;
                if ((uint)iy >= (uint)g.InHeight)
                {
                    new Span<float>(even, 2 * width).Clear();
                    continue;
                }

                Deinterleave(plane + ((long)iy * g.InWidth), even, odd, width);
            }

            // Bᵀ down the rows, in place, for both column parities: (r0 - r2, r1 + r2, r2 - r1, r1 - r3).
            Combine(scratch, 2 * width, 2 * width, default(RowTransform));

            // Then across: (e0 - e1, o0 + e1, e1 - o0, o0 - o1) with e1, o1 the next tile's columns.
            for (var i = 0; i < 4; i++)
            {
                var even = scratch + (2 * i * width);
                Combine(even, _tilesW, width, new ColumnTransform(v + (4 * i * pointStride), pointStride));
            }
        }

        /// <summary>even[j], odd[j] = row[2j - PadLeft], row[2j + 1 - PadLeft] for j &lt; <paramref name="count"/>, 0 outside the row.</summary>
        private void Deinterleave(float* row, float* even, float* odd, int count)
        {
            // For j in [first, last) both columns lie inside the row: split without bounds checks.
            var pad = g.PadLeft;
            var first = Math.Min(count, (pad + 1) / 2);
            var last = Math.Clamp(g.InWidth - 2 + pad >= 0 ? ((g.InWidth - 2 + pad) / 2) + 1 : 0, first, count);
            for (var j = 0; j < count; j++)
            {
                if (j >= first && j < last)
                {
                    continue;
                }

                var x = (2 * j) - pad;
                even[j] = (uint)x < (uint)g.InWidth ? row[x] : 0f;
                odd[j] = (uint)(x + 1) < (uint)g.InWidth ? row[x + 1] : 0f;
            }

            Cpu.Deinterleave.Pairs(row + (2 * first) - pad, even + first, odd + first, last - first);
        }

        /// <summary>
        /// Y = Aᵀ·M·A for one output channel's tiles of tile row <paramref name="ty"/> (m[ξ·pointStride + tx]),
        /// plus bias (and, accumulating, the rows' current values) and the activation, into output rows
        /// 2ty and 2ty + 1 of <paramref name="plane"/>.
        /// </summary>
        private void OutputRow(float* m, long pointStride, float* scratch, float* plane, int ty, float shift)
        {
            var y = scratch;
            Combine(m, _tilesW, pointStride, new OutputTransform(y, _tilesW));
            var row0 = scratch + (4 * _tilesW);
            var row1 = row0 + (2 * _tilesW);
            Interleave(y, y + _tilesW, row0, _tilesW);
            Interleave(y + (2 * _tilesW), y + (3 * _tilesW), row1, _tilesW);

            for (var a = 0; a < 2 && (2 * ty) + a < g.OutHeight; a++)
            {
                var dst = new Span<float>(plane + ((long)((2 * ty) + a) * g.OutWidth), g.OutWidth);
                var sum = new Span<float>(a == 0 ? row0 : row1, g.OutWidth);
                if (accumulate)
                {
                    System.Numerics.Tensors.TensorPrimitives.Add(sum, dst, sum);
                }

                ActivationKernel.Apply(activation, sum, dst, 1f, shift);
            }
        }
    }

    // dst[2i], dst[2i + 1] = a[i], b[i] for i < count.
    private static void Interleave(float* a, float* b, float* dst, int count)
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var zip = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
            for (; i + 8 <= count; i += 8)
            {
                var va = Vector256.Load(a + i);
                var vb = Vector256.Load(b + i);
                Vector256.Shuffle(Vector256.Create(va.GetLower(), vb.GetLower()), zip).Store(dst + (2 * i));
                Vector256.Shuffle(Vector256.Create(va.GetUpper(), vb.GetUpper()), zip).Store(dst + (2 * i) + 8);
            }
        }

        for (; i < count; i++)
        {
            dst[2 * i] = a[i];
            dst[(2 * i) + 1] = b[i];
        }
    }

    // Runs op at every index i < count over lanes of 4 arrays src + k·stride, vectorised. The tail is
    // one more vector ending at count, overlapping the last full one, where op only writes what it
    // never reads (recomputing an index writes the same values): ResNet's 28×28 planes have 14 tiles a
    // row, and a scalar tail of 6 took 8% of the layer; in-place ops take a scalar tail.
    private static void Combine<T>(float* src, int count, long stride, T op)
        where T : struct, ITransform
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= count; i += 8)
            {
                op.Invoke(src + i, stride, i);
            }

            if (i < count && count >= 8 && !T.InPlace)
            {
                op.Invoke(src + count - 8, stride, count - 8);
                return;
            }
        }

        for (; i < count; i++)
        {
            op.InvokeScalar(src + i, stride, i);
        }
    }

    private interface ITransform
    {
        /// <summary>Whether the op overwrites its inputs, so that it must not run twice at one index.</summary>
        static abstract bool InPlace { get; }

        void Invoke(float* src, long stride, int index);

        void InvokeScalar(float* src, long stride, int index);
    }

    // Bᵀ applied to four rows in place.
    private readonly struct RowTransform : ITransform
    {
        public static bool InPlace => true;

        public void Invoke(float* src, long stride, int index)
        {
            var r0 = Vector256.Load(src);
            var r1 = Vector256.Load(src + stride);
            var r2 = Vector256.Load(src + (2 * stride));
            var r3 = Vector256.Load(src + (3 * stride));
            (r0 - r2).Store(src);
            (r1 + r2).Store(src + stride);
            (r2 - r1).Store(src + (2 * stride));
            (r1 - r3).Store(src + (3 * stride));
        }

        public void InvokeScalar(float* src, long stride, int index)
        {
            float r0 = src[0], r1 = src[stride], r2 = src[2 * stride], r3 = src[3 * stride];
            src[0] = r0 - r2;
            src[stride] = r1 + r2;
            src[2 * stride] = r2 - r1;
            src[3 * stride] = r1 - r3;
        }
    }

    // B applied across a row split into even (src) and odd (src + stride) columns, into v[ξ·pointStride].
    private readonly struct ColumnTransform(float* v, long pointStride) : ITransform
    {
        public static bool InPlace => false;

        public void Invoke(float* src, long stride, int index)
        {
            var e0 = Vector256.Load(src);
            var e1 = Vector256.Load(src + 1);
            var o0 = Vector256.Load(src + stride);
            var o1 = Vector256.Load(src + stride + 1);
            var dst = v + index;
            (e0 - e1).Store(dst);
            (o0 + e1).Store(dst + pointStride);
            (e1 - o0).Store(dst + (2 * pointStride));
            (o0 - o1).Store(dst + (3 * pointStride));
        }

        public void InvokeScalar(float* src, long stride, int index)
        {
            float e0 = src[0], e1 = src[1], o0 = src[stride], o1 = src[stride + 1];
            var dst = v + index;
            dst[0] = e0 - e1;
            dst[pointStride] = o0 + e1;
            dst[2 * pointStride] = e1 - o0;
            dst[3 * pointStride] = o0 - o1;
        }
    }

    // Aᵀ·M·A from the 16 points src[ξ·stride] into y[k·count + index], k = 2a + b for output (a, b).
    private readonly struct OutputTransform(float* y, int count) : ITransform
    {
        public static bool InPlace => false;

        public void Invoke(float* src, long stride, int index)
        {
            // Down the columns: s0 = m0 + m1 + m2, s1 = m1 - m2 - m3; then across the same way.
            Vector256<float> s00, s01, s02, s03, s10, s11, s12, s13;
            (s00, s10) = Column(src, stride);
            (s01, s11) = Column(src + stride, stride);
            (s02, s12) = Column(src + (2 * stride), stride);
            (s03, s13) = Column(src + (3 * stride), stride);
            var dst = y + index;
            (s00 + s01 + s02).Store(dst);
            (s01 - s02 - s03).Store(dst + count);
            (s10 + s11 + s12).Store(dst + (2 * count));
            (s11 - s12 - s13).Store(dst + (3 * count));
        }

        public void InvokeScalar(float* src, long stride, int index)
        {
            var s = stackalloc float[8];
            for (var j = 0; j < 4; j++)
            {
                float m0 = src[j * stride], m1 = src[(4 + j) * stride], m2 = src[(8 + j) * stride], m3 = src[(12 + j) * stride];
                s[j] = m0 + m1 + m2;
                s[4 + j] = m1 - m2 - m3;
            }

            var dst = y + index;
            dst[0] = s[0] + s[1] + s[2];
            dst[count] = s[1] - s[2] - s[3];
            dst[2 * count] = s[4] + s[5] + s[6];
            dst[3 * count] = s[5] - s[6] - s[7];
        }

        private static (Vector256<float> S0, Vector256<float> S1) Column(float* src, long stride)
        {
            var m0 = Vector256.Load(src);
            var m1 = Vector256.Load(src + (4 * stride));
            var m2 = Vector256.Load(src + (8 * stride));
            var m3 = Vector256.Load(src + (12 * stride));
            return (m0 + m1 + m2, m1 - m2 - m3);
        }
    }
}
