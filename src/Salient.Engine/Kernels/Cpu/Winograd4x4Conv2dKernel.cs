using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Winograd F(4×4, 3×3) for the 3×3 stride-1 convolutions of <see cref="WinogradConv2dKernel.IsWinogradShape"/>
/// on large planes with at most 128·128 filters: each 6×6 input tile d becomes V = Bᵀ·d·B, each filter
/// g becomes U = G·g·Gᵀ, and a tile's 4×4 outputs are Aᵀ·(U ⊙ V)·A: 36 multiplies per channel for 16
/// outputs, where F(2×2) takes 64 and direct convolution 144. As in F(2×2) the products summed over channels are 36 GEMMs
/// M_ξ[OC, T] = U_ξ[OC, C] · V_ξ[C, T] over chunks of whole tile rows, one chunk per thread at a time.
/// The transforms run on 16 tiles at once with AVX-512, across the tiles of the whole chunk rather
/// than along one tile row (a 28×28 plane has only 7 tiles a row), so a channel's tiles are first
/// gathered into 36 tile-major rows: each input row split into its four column phases (column 4j + k).
/// Interpolation points 0, -1, 1, ½, -2 (and ∞): of the sets tried in a float32 simulation of ResNet-like
/// layers (64 channels, ReLU inputs, He-scaled filters) the most accurate, an RMS error of 8.7e-7 of the
/// outputs' RMS against 1.33e-6 for Lavin's 0, ±1, ±2 (0, ±1, ±½: 1.25e-6); Lavin's points broke the
/// Ablation-CAM parity of a VGG fixture (relative L2 1.3e-3, allowed 1e-3). The filter transform runs
/// in double. The error is still larger than F(2×2)'s (measured on such layers: 2–4e-7). Needs AVX-512,
/// and the filters' transforms kept in the model's cache (<see cref="WinogradWeights"/>).
/// </summary>
internal static unsafe class Winograd4x4Conv2dKernel
{
    private const int Points = 36;

    private const int Lanes = 16;

    // Tiles per GEMM: V and M of a chunk are 36·(C + OC)·T floats, 2.25 times F(2×2)'s per tile. With
    // ResNet-50's 3×3 layers at batch 8 (one layer, 2 threads, weights kept, best of 15 calls), 128
    // was as fast as 96 or 192 and faster than 64.
    private const int TargetTiles = 128;

    // Tiles of 4×4 outputs per image, at least. ResNet's layers at batch 8 (2 threads, weights kept):
    // inside the networks F(4×4) took 64 channels at 56×56 from 17.2 to 14.6 ms (3 layers), 128 at 28×28
    // from 14.7 to 13.8, 256 at 14×14 (16 tiles, 31% of them past the plane's edge) from 34.1 to 24.0
    // (5 layers); 512 at 7×7 (4 tiles, 32 a batch: GEMMs too thin) lost every time.
    private const int MinTilesPerImage = 16;

    // Filters (C·OC), at most: the kept transforms take 36 floats a filter against F(2×2)'s 16, and the
    // deep layers hold most of a network's filters. With F(4×4) on ResNet's 256-channel 14×14 layers too
    // (26 of ResNet-50's 31 extra MB) the forward peak rose above ONNX Runtime's (ResNet-50 384–392 MB
    // against 379–389, ResNet-18 268–269 against 262–265); without them 358–367 and 246–251, for a speed-up
    // over F(2×2) within the noise of the other's (docs/benchmarks/2026-12-03-winograd-f4.md).
    private const int MaxFilters = 128 * 128;

    /// <summary>
    /// Whether <paramref name="g"/> is a convolution this kernel computes, and faster than F(2×2) or im2col.
    /// Only with the transformed weights kept once per model (<paramref name="cache"/>): per call, the
    /// 36 transforms of every filter would fall on each pass, which nothing here has measured, so training's
    /// convolutions stay with F(2×2) and im2col.
    /// </summary>
    public static bool Applies(in Conv2dGeometry g, CpuGemm gemm, WeightCache cache) =>
        gemm.Kernels == ManagedGemm.Kernels.Vector512 && Avx512F.IsSupported && WinogradWeights.Lasting(gemm, cache)
        && WinogradConv2dKernel.IsWinogradShape(g) && (long)g.InChannels * g.OutChannels <= MaxFilters
        && ((g.OutHeight + 3) / 4) * ((g.OutWidth + 3) / 4) >= MinTilesPerImage;

    /// <summary>
    /// A convolution <see cref="Applies"/> accepts, with any padding; the caller has validated the buffers.
    /// With <paramref name="accumulate"/> the output's values join the sum before the activation.
    /// </summary>
    public static void Run(CpuGemm gemm, in Conv2dGeometry g, float* input, WeightCache weights, float* bias, float* output, in FusedActivation activation,
        bool accumulate = false)
    {
        using var lhs = WinogradWeights.For<Tile>(gemm, g, weights, flipped: false);
        var rows = g.Batch * ((g.OutHeight + 3) / 4);
        var rowsPerChunk = WinogradConv2dKernel.RowsPerChunk(rows, (g.OutWidth + 3) / 4, TargetTiles);
        var job = new Job(g, input, lhs, bias, output, activation, accumulate, rows, rowsPerChunk);
        gemm.ForEachSingleThreaded((rows + rowsPerChunk - 1) / rowsPerChunk, job.Chunk);
    }

    // The F(4×4, 3×3) filter transform.
    private readonly struct Tile : IWinogradTile
    {
        public static int Points => Winograd4x4Conv2dKernel.Points;

        /// <summary>U = G·g·Gᵀ with G's rows (1, p, p²)/∏(p - q) for the finite points p (q the others), and (0, 0, 1).</summary>
        public static void TransformFilters(int start, int end, int filters, float* weight, float* u)
        {
            var t = stackalloc double[18];
            var row = stackalloc double[6];
            for (var f = start; f < end; f++)
            {
                var w = weight + (f * 9L);
                for (var j = 0; j < 3; j++)
                {
                    FilterColumn(w[j], w[3 + j], w[6 + j], t + j, 3);
                }

                for (var i = 0; i < 6; i++)
                {
                    FilterColumn(t[3 * i], t[(3 * i) + 1], t[(3 * i) + 2], row, 1);
                    for (var k = 0; k < 6; k++)
                    {
                        u[((long)((6 * i) + k) * filters) + f] = (float)row[k];
                    }
                }
            }
        }

        // G·(g0, g1, g2) into dst[k·stride], for the points 0, -1, 1, ½, -2, ∞.
        private static void FilterColumn(double g0, double g1, double g2, double* dst, int stride)
        {
            dst[0] = g0;
            dst[stride] = (g1 - g0 - g2) / 3;
            dst[2 * stride] = (g0 + g1 + g2) / 3;
            dst[3 * stride] = -((16 * g0) + (8 * g1) + (4 * g2)) / 15;
            dst[4 * stride] = (g0 - (2 * g1) + (4 * g2)) / 15;
            dst[5 * stride] = g2;
        }
    }

    private sealed class Job(Conv2dGeometry g, float* input, WinogradWeights lhs, float* bias, float* output,
        FusedActivation activation, bool accumulate, int rows, int rowsPerChunk)
    {
        private readonly int _tilesW = (g.OutWidth + 3) / 4;
        private readonly int _tilesH = (g.OutHeight + 3) / 4;

        // Vectors of 16 tiles that cover a tile row and the next tile's first columns: the phase split's unit.
        private readonly int _groups = ((g.OutWidth + 3) / 4 / Lanes) + 1;

        /// <summary>Transforms, multiplies and writes back tile rows [chunk·rowsPerChunk, +rowsPerChunk).</summary>
        public void Chunk(int chunk)
        {
            var first = chunk * rowsPerChunk;
            var count = Math.Min(rowsPerChunk, rows - first);
            var tiles = count * _tilesW;

            // Every tile-major row of V, M and Y holds whole vectors; the gathered tiles' rows have a vector
            // more, which the phase split of the last tile row runs into (see GatherRow).
            var stride = (tiles + Lanes - 1) / Lanes * Lanes;
            var gatherStride = stride + Lanes;
            long c = g.InChannels, oc = g.OutChannels;
            var vBuffer = HostArrayPool.Shared.Rent((int)(Points * c * stride) + Lanes);
            var mBuffer = HostArrayPool.Shared.Rent((int)(Points * oc * stride) + Lanes);
            var tileBuffer = HostArrayPool.Shared.Rent((Points * (gatherStride + Lanes)) + Lanes);
            var rowBuffer = HostArrayPool.Shared.Rent((8 * _groups * Lanes) + Lanes);
            try
            {
                fixed (float* pV = vBuffer, pM = mBuffer, pTile = tileBuffer, pRow = rowBuffer)
                {
                    float* v = CacheLine.Align(pV), m = CacheLine.Align(pM), d = CacheLine.Align(pTile), scratch = CacheLine.Align(pRow);
                    var transformScratch = d + (Points * gatherStride);

                    // Lanes past the last tile are transformed with the rest: zeros, not whatever the pool held.
                    for (var e = 0; e < Points; e++)
                    {
                        new Span<float>(d + (e * gatherStride) + tiles, gatherStride - tiles).Clear();
                    }

                    for (var ch = 0; ch < c; ch++)
                    {
                        for (var r = 0; r < count; r++)
                        {
                            var (n, ty) = Math.DivRem(first + r, _tilesH);
                            GatherRow(input + (((n * c) + ch) * g.InHeight * g.InWidth), ty, scratch, d + (r * _tilesW), gatherStride);
                        }

                        for (var t = 0; t < tiles; t += Lanes)
                        {
                            InputTiles(d + t, gatherStride, transformScratch, v + (ch * stride) + t, c * stride);
                        }
                    }

                    for (var p = 0; p < Points; p++)
                    {
                        var mp = m + (p * oc * stride);
                        CpuGemm.Multiply(lhs[p], tiles, v + (p * c * stride), stride, mp, stride, singleThreaded: true);
                        for (var o = 0; o < oc; o++)
                        {
                            new Span<float>(mp + (o * stride) + tiles, stride - tiles).Clear();
                        }
                    }

                    var y = d;
                    for (var o = 0; o < oc; o++)
                    {
                        for (var t = 0; t < tiles; t += Lanes)
                        {
                            OutputTiles(m + (o * stride) + t, oc * stride, transformScratch, y + t, stride);
                        }

                        var shift = bias == null ? 0f : bias[o];
                        if (!accumulate)
                        {
                            // Bias and activation in one call over the channel's tiles (and the spare lanes, which go
                            // nowhere) rather than one per output row: on 56×56 planes the calls took 8% of the layer.
                            var tileRows = new Span<float>(y, 16 * stride);
                            ActivationKernel.Apply(activation, tileRows, tileRows, 1f, shift);
                        }

                        for (var r = 0; r < count; r++)
                        {
                            var (n, ty) = Math.DivRem(first + r, _tilesH);
                            ScatterRow(y + (r * _tilesW), stride, scratch, output + (((n * oc) + o) * g.OutHeight * g.OutWidth), ty, shift);
                        }
                    }
                }
            }
            finally
            {
                HostArrayPool.Shared.Return(vBuffer);
                HostArrayPool.Shared.Return(mBuffer);
                HostArrayPool.Shared.Return(tileBuffer);
                HostArrayPool.Shared.Return(rowBuffer);
            }
        }

        /// <summary>
        /// The 6×6 input tiles of tile row <paramref name="ty"/> of one channel plane, element (k, j) of tile
        /// tx to d[(6k + j)·stride + tx]. Each of the six input rows, zero-padded, is split into its column
        /// phases P_j[tx] = row[4tx + j] (<see cref="SplitPhases"/>): a tile's columns are P0..P3 at tx and
        /// P0, P1 at tx + 1. The split writes whole vectors, up to 16 slots past the row's tiles: into the next
        /// tile row's (gathered after this one) or the stride's spare vector.
        /// </summary>
        private void GatherRow(float* plane, int ty, float* scratch, float* d, long stride)
        {
            var width = 4 * Lanes * _groups;
            for (var k = 0; k < 6; k++)
            {
                var dk = d + (6 * k * stride);
                var iy = (4 * ty) - g.PadTop + k;
                if ((uint)iy >= (uint)g.InHeight)
                {
                    for (var j = 0; j < 6; j++)
                    {
                        new Span<float>(dk + (j * stride), _tilesW).Clear();
                    }

                    continue;
                }

                var lead = Math.Min(g.PadLeft, width);
                var copied = Math.Min(g.InWidth, width - lead);
                new Span<float>(scratch, lead).Clear();
                new ReadOnlySpan<float>(plane + ((long)iy * g.InWidth), copied).CopyTo(new Span<float>(scratch + lead, copied));
                new Span<float>(scratch + lead + copied, width - lead - copied).Clear();

                SplitPhases(scratch, dk, stride, _groups);
                new ReadOnlySpan<float>(dk + 1, _tilesW).CopyTo(new Span<float>(dk + (4 * stride), _tilesW));
                new ReadOnlySpan<float>(dk + stride + 1, _tilesW).CopyTo(new Span<float>(dk + (5 * stride), _tilesW));
            }
        }

        /// <summary>
        /// Y = Aᵀ·M·A of one output channel's tiles of a tile row (y[(4a + b)·stride + tx] for output (a, b)) put
        /// back in output rows 4ty..4ty + 3 of <paramref name="plane"/>; accumulating, with the rows' current
        /// values, the bias and the activation (which otherwise <see cref="Chunk"/> has applied).
        /// </summary>
        private void ScatterRow(float* y, long stride, float* scratch, float* plane, int ty, float shift)
        {
            var row = scratch;
            var tail = scratch + (4 * Lanes * _groups);
            for (var a = 0; a < 4 && (4 * ty) + a < g.OutHeight; a++)
            {
                var dst = plane + ((long)((4 * ty) + a) * g.OutWidth);
                if (!accumulate)
                {
                    InterleaveColumns(y + (4 * a * stride), stride, dst, g.OutWidth, tail);
                    continue;
                }

                InterleaveColumns(y + (4 * a * stride), stride, row, g.OutWidth, tail);
                var sum = new Span<float>(row, g.OutWidth);
                var result = new Span<float>(dst, g.OutWidth);
                TensorPrimitives.Add(sum, result, sum);
                ActivationKernel.Apply(activation, sum, result, 1f, shift);
            }
        }
    }

    // Lane indices of a two-vector permute: the even and the odd elements of 32, and the first and last
    // 8 elements of each of two vectors alternated.
    private static readonly Vector512<int> s_evens = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    private static readonly Vector512<int> s_odds = Vector512.Create(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    private static readonly Vector512<int> s_zipLow = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    private static readonly Vector512<int> s_zipHigh = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);

    /// <summary>
    /// p[k·stride + j] = src[4j + k] for k &lt; 4 and j &lt; 16·<paramref name="groups"/>: the column phases
    /// of a row, 64 columns (two permutes into even and odd, two more into the four phases) a step.
    /// </summary>
    private static void SplitPhases(float* src, float* p, long stride, int groups)
    {
        for (var i = 0; i < groups; i++, src += 4 * Lanes, p += Lanes)
        {
            var v0 = Vector512.Load(src);
            var v1 = Vector512.Load(src + Lanes);
            var v2 = Vector512.Load(src + (2 * Lanes));
            var v3 = Vector512.Load(src + (3 * Lanes));
            var evenLow = Avx512F.PermuteVar16x32x2(v0, s_evens, v1);
            var oddLow = Avx512F.PermuteVar16x32x2(v0, s_odds, v1);
            var evenHigh = Avx512F.PermuteVar16x32x2(v2, s_evens, v3);
            var oddHigh = Avx512F.PermuteVar16x32x2(v2, s_odds, v3);
            Avx512F.PermuteVar16x32x2(evenLow, s_evens, evenHigh).Store(p);
            Avx512F.PermuteVar16x32x2(oddLow, s_evens, oddHigh).Store(p + stride);
            Avx512F.PermuteVar16x32x2(evenLow, s_odds, evenHigh).Store(p + (2 * stride));
            Avx512F.PermuteVar16x32x2(oddLow, s_odds, oddHigh).Store(p + (3 * stride));
        }
    }

    /// <summary>
    /// dst[4j + b] = y[b·stride + j] for the first <paramref name="count"/> values of dst: an output row from
    /// its tiles' four columns, 16 tiles (four permutes into pairs, four more into quadruples) a step; a
    /// last partial step goes through <paramref name="tail"/> (64 floats), so nothing past dst's row is written.
    /// </summary>
    private static void InterleaveColumns(float* y, long stride, float* dst, int count, float* tail)
    {
        for (var j = 0; j < count; j += 4 * Lanes, y += Lanes)
        {
            var y0 = Vector512.Load(y);
            var y1 = Vector512.Load(y + stride);
            var y2 = Vector512.Load(y + (2 * stride));
            var y3 = Vector512.Load(y + (3 * stride));
            var evenLow = Avx512F.PermuteVar16x32x2(y0, s_zipLow, y2);
            var evenHigh = Avx512F.PermuteVar16x32x2(y0, s_zipHigh, y2);
            var oddLow = Avx512F.PermuteVar16x32x2(y1, s_zipLow, y3);
            var oddHigh = Avx512F.PermuteVar16x32x2(y1, s_zipHigh, y3);
            var whole = count - j >= 4 * Lanes;
            var target = whole ? dst + j : tail;
            Avx512F.PermuteVar16x32x2(evenLow, s_zipLow, oddLow).Store(target);
            Avx512F.PermuteVar16x32x2(evenLow, s_zipHigh, oddLow).Store(target + Lanes);
            Avx512F.PermuteVar16x32x2(evenHigh, s_zipLow, oddHigh).Store(target + (2 * Lanes));
            Avx512F.PermuteVar16x32x2(evenHigh, s_zipHigh, oddHigh).Store(target + (3 * Lanes));
            if (!whole)
            {
                new ReadOnlySpan<float>(tail, count - j).CopyTo(new Span<float>(dst + j, count - j));
            }
        }
    }

    /// <summary>V = Bᵀ·d·B for 16 tiles: d[(6k + j)·stride], through 36 vectors of scratch, into v[ξ·pointStride].</summary>
    private static void InputTiles(float* d, long stride, float* scratch, float* v, long pointStride)
    {
        for (var j = 0; j < 6; j++)
        {
            InputColumn(d + (j * stride), 6 * stride, scratch + (j * Lanes), 6 * Lanes);
        }

        for (var i = 0; i < 6; i++)
        {
            InputColumn(scratch + (6 * i * Lanes), Lanes, v + (6 * i * pointStride), pointStride);
        }
    }

    /// <summary>Y = Aᵀ·M·A for 16 tiles: m[ξ·pointStride], through 24 vectors of scratch, into y[(4a + b)·stride].</summary>
    private static void OutputTiles(float* m, long pointStride, float* scratch, float* y, long stride)
    {
        for (var j = 0; j < 6; j++)
        {
            OutputColumn(m + (j * pointStride), 6 * pointStride, scratch + (j * Lanes), 6 * Lanes);
        }

        for (var a = 0; a < 4; a++)
        {
            OutputColumn(scratch + (6 * a * Lanes), Lanes, y + (4 * a * stride), stride);
        }
    }

    // Bᵀ·(d0..d5), with Bᵀ's rows the coefficients (constant term first) of ∏(x - q) over the finite
    // points but p, for each p, and of the product over all of them: (1, -3/2, -2, 3/2, 1, 0),
    // (0, 1, -5/2, 1/2, 1, 0), (0, -1, 1/2, 5/2, 1, 0), (0, -2, -1, 2, 1, 0), (0, 1/2, -1, -1/2, 1, 0),
    // (0, 1, -3/2, -2, 3/2, 1).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputColumn(float* src, long srcStride, float* dst, long dstStride)
    {
        var d0 = Vector512.Load(src);
        var d1 = Vector512.Load(src + srcStride);
        var d2 = Vector512.Load(src + (2 * srcStride));
        var d3 = Vector512.Load(src + (3 * srcStride));
        var d4 = Vector512.Load(src + (4 * srcStride));
        var d5 = Vector512.Load(src + (5 * srcStride));
        var half = Vector512.Create(0.5f);
        var threeHalves = Vector512.Create(1.5f);
        var two = Vector512.Create(2f);
        var fiveHalves = Vector512.Create(2.5f);
        var d42 = d4 - d2;
        Vector512.FusedMultiplyAdd(threeHalves, d3 - d1, Vector512.FusedMultiplyAdd(-two, d2, d0 + d4)).Store(dst);
        Vector512.FusedMultiplyAdd(-fiveHalves, d2, Vector512.FusedMultiplyAdd(half, d3, d1 + d4)).Store(dst + dstStride);
        Vector512.FusedMultiplyAdd(fiveHalves, d3, Vector512.FusedMultiplyAdd(half, d2, d4 - d1)).Store(dst + (2 * dstStride));
        Vector512.FusedMultiplyAdd(two, d3 - d1, d42).Store(dst + (3 * dstStride));
        Vector512.FusedMultiplyAdd(half, d1 - d3, d42).Store(dst + (4 * dstStride));
        Vector512.FusedMultiplyAdd(threeHalves, d42, Vector512.FusedMultiplyAdd(-two, d3, d1 + d5)).Store(dst + (5 * dstStride));
    }

    // Aᵀ·(m0..m5), with Aᵀ's rows the powers 0..3 of the points (and of ∞: 0, 0, 0, 1):
    // (1, 1, 1, 1, 1, 0), (0, -1, 1, 1/2, -2, 0), (0, 1, 1, 1/4, 4, 0), (0, -1, 1, 1/8, -8, 1).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OutputColumn(float* src, long srcStride, float* dst, long dstStride)
    {
        var m0 = Vector512.Load(src);
        var m1 = Vector512.Load(src + srcStride);
        var m2 = Vector512.Load(src + (2 * srcStride));
        var m3 = Vector512.Load(src + (3 * srcStride));
        var m4 = Vector512.Load(src + (4 * srcStride));
        var m5 = Vector512.Load(src + (5 * srcStride));
        var sum12 = m1 + m2;
        var difference21 = m2 - m1;
        (m0 + sum12 + m3 + m4).Store(dst);
        Vector512.FusedMultiplyAdd(Vector512.Create(0.5f), m3, Vector512.FusedMultiplyAdd(Vector512.Create(-2f), m4, difference21)).Store(dst + dstStride);
        Vector512.FusedMultiplyAdd(Vector512.Create(0.25f), m3, Vector512.FusedMultiplyAdd(Vector512.Create(4f), m4, sum12)).Store(dst + (2 * dstStride));
        Vector512.FusedMultiplyAdd(Vector512.Create(0.125f), m3, Vector512.FusedMultiplyAdd(Vector512.Create(-8f), m4, difference21 + m5))
            .Store(dst + (3 * dstStride));
    }
}
