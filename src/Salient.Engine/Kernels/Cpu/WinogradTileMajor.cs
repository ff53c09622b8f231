using System.Runtime.Intrinsics;
using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// The tile side of a Winograd tile size whose transforms run on a vector of tiles at once
/// (<see cref="WinogradTileMajor{TTile, TLanes, TVector}"/>): its output tile's side m (input tiles are (m + 2)²) and the
/// column transforms that V = Bᵀ·d·B and Y = Aᵀ·M·A are made of.
/// </summary>
internal unsafe interface IWinogradVectorTile : IWinogradTile
{
    /// <summary>The side m of an output tile: 2 or 4.</summary>
    static abstract int Size { get; }

    /// <summary>
    /// Bᵀ·(d_0 … d_{m+1}) for a vector of tiles at once: d_k at src[k·srcStride] into the m + 2 vectors
    /// dst[k·dstStride]. V = Bᵀ·d·B is this down every column of the tiles, then across every row.
    /// </summary>
    static abstract void InputColumn<TLanes, TVector>(float* src, long srcStride, float* dst, long dstStride)
        where TLanes : struct, IFloatLanes<TVector>
        where TVector : unmanaged;

    /// <summary>Aᵀ·(m_0 … m_{m+1}) for a vector of tiles: m + 2 vectors at src[k·srcStride] into the m vectors dst[a·dstStride].</summary>
    static abstract void OutputColumn<TLanes, TVector>(float* src, long srcStride, float* dst, long dstStride)
        where TLanes : struct, IFloatLanes<TVector>
        where TVector : unmanaged;
}

/// <summary>The vector width <see cref="WinogradTileMajor{TTile, TLanes, TVector}"/> runs with for a GEMM's kernels.</summary>
internal static unsafe class WinogradTileMajor
{
    /// <summary>
    /// Whether this CPU runs the transforms in vectors as wide as <paramref name="gemm"/>'s kernels: AVX-512, or
    /// AVX2 with FMA (which the managed GEMM held to AVX2 on an AVX-512 machine stands in for).
    /// </summary>
    public static bool Supported(CpuGemm gemm) => FloatLanes.IsSupported(gemm.Kernels);

    /// <summary><see cref="WinogradTileMajor{TTile, TLanes, TVector}.Run"/> in vectors as wide as <paramref name="gemm"/>'s kernels (where <see cref="Supported"/>).</summary>
    public static void Run<TTile>(CpuGemm gemm, in Conv2dGeometry g, float* input, WinogradWeights lhs, float* bias, float* output,
        in FusedActivation activation, bool accumulate, int targetTiles)
        where TTile : IWinogradVectorTile
    {
        if (gemm.Kernels == ManagedGemm.Kernels.Vector512)
        {
            WinogradTileMajor<TTile, Lanes512, Vector512<float>>.Run(gemm, g, input, lhs, bias, output, activation, accumulate, targetTiles);
        }
        else
        {
            WinogradTileMajor<TTile, Lanes256, Vector256<float>>.Run(gemm, g, input, lhs, bias, output, activation, accumulate, targetTiles);
        }
    }
}

/// <summary>
/// A Winograd convolution with its transforms running on a vector of tiles at once (16 with AVX-512,
/// 8 with AVX2: <typeparamref name="TLanes"/> over <typeparamref name="TVector"/>), across the tiles of a whole chunk of tile rows rather than
/// along one tile row (a 28×28 plane has only 7 tiles of 4×4 a row, a 7×7 one 4 of 2×2): a channel's
/// tiles are first gathered into (m + 2)² tile-major rows, each zero-padded input row split into its m
/// column phases (column m·j + k) by two-source permutes; the output goes back into rows the same way,
/// straight into the output tensor. The products summed over channels are GEMMs
/// M_ξ[OC, T] = U_ξ[OC, C] · V_ξ[C, T] per point ξ over chunks of whole tile rows across the batch, one
/// chunk per thread at a time.
/// </summary>
internal static unsafe class WinogradTileMajor<TTile, TLanes, TVector>
    where TTile : IWinogradVectorTile
    where TLanes : struct, IFloatLanes<TVector>
    where TVector : unmanaged
{
    private static int Lanes => TLanes.Count;

    /// <summary>
    /// A 3×3 stride-1 convolution with any padding, in chunks of about <paramref name="targetTiles"/> tiles;
    /// the caller has validated the buffers. With <paramref name="accumulate"/> the output's values join
    /// the sum before the activation.
    /// </summary>
    public static void Run(CpuGemm gemm, in Conv2dGeometry g, float* input, WinogradWeights lhs, float* bias, float* output,
        in FusedActivation activation, bool accumulate, int targetTiles)
    {
        var m = TTile.Size;
        var rows = g.Batch * ((g.OutHeight + m - 1) / m);
        var rowsPerChunk = WinogradConv2dKernel.RowsPerChunk(rows, (g.OutWidth + m - 1) / m, targetTiles);
        var job = new Job(g, input, lhs, bias, output, activation, accumulate, rows, rowsPerChunk);
        gemm.ForEachSingleThreaded((rows + rowsPerChunk - 1) / rowsPerChunk, job.Chunk);
    }

    /// <summary>V = Bᵀ·d·B for a vector of tiles: d[((m + 2)k + j)·stride], through (m + 2)² vectors of scratch, into v[ξ·pointStride].</summary>
    private static void InputTiles(float* d, long stride, float* scratch, float* v, long pointStride)
    {
        var side = TTile.Size + 2;
        for (var j = 0; j < side; j++)
        {
            TTile.InputColumn<TLanes, TVector>(d + (j * stride), side * stride, scratch + (j * Lanes), side * Lanes);
        }

        for (var i = 0; i < side; i++)
        {
            TTile.InputColumn<TLanes, TVector>(scratch + (side * i * Lanes), Lanes, v + (side * i * pointStride), pointStride);
        }
    }

    /// <summary>Y = Aᵀ·M·A for a vector of tiles: m[ξ·pointStride], through scratch, into y[(m·a + b)·stride].</summary>
    private static void OutputTiles(float* m, long pointStride, float* scratch, float* y, long stride)
    {
        int size = TTile.Size, side = size + 2;
        for (var j = 0; j < side; j++)
        {
            TTile.OutputColumn<TLanes, TVector>(m + (j * pointStride), side * pointStride, scratch + (j * Lanes), side * Lanes);
        }

        for (var a = 0; a < size; a++)
        {
            TTile.OutputColumn<TLanes, TVector>(scratch + (side * a * Lanes), Lanes, y + (size * a * stride), stride);
        }
    }

    private sealed class Job(Conv2dGeometry g, float* input, WinogradWeights lhs, float* bias, float* output,
        FusedActivation activation, bool accumulate, int rows, int rowsPerChunk)
    {
        private static readonly int s_size = TTile.Size;
        private static readonly int s_side = TTile.Size + 2;

        private readonly int _tilesW = (g.OutWidth + TTile.Size - 1) / TTile.Size;
        private readonly int _tilesH = (g.OutHeight + TTile.Size - 1) / TTile.Size;

        // Vectors of tiles that cover a tile row and the next tile's first columns: the phase split's unit.
        private readonly int _groups = ((g.OutWidth + TTile.Size - 1) / TTile.Size / Lanes) + 1;

        /// <summary>Transforms, multiplies and writes back tile rows [chunk·rowsPerChunk, +rowsPerChunk).</summary>
        public void Chunk(int chunk)
        {
            var first = chunk * rowsPerChunk;
            var count = Math.Min(rowsPerChunk, rows - first);
            var points = TTile.Points;
            var tiles = count * _tilesW;

            // Every tile-major row of V, M and Y holds whole vectors.
            var stride = (tiles + Lanes - 1) / Lanes * Lanes;
            long c = g.InChannels, oc = g.OutChannels;
            var vBuffer = HostArrayPool.Shared.Rent((int)(points * c * stride) + Lanes);
            var mBuffer = HostArrayPool.Shared.Rent((int)(points * oc * stride) + Lanes);
            try
            {
                fixed (float* pV = vBuffer, pM = mBuffer)
                {
                    float* v = CacheLine.Align(pV), m = CacheLine.Align(pM);
                    InputTransforms(first, count, v, stride);
                    for (var p = 0; p < points; p++)
                    {
                        var mp = m + (p * oc * stride);
                        CpuGemm.Multiply(lhs[p], tiles, v + (p * c * stride), stride, mp, stride, singleThreaded: true);
                        for (var o = 0; o < oc; o++)
                        {
                            new Span<float>(mp + (o * stride) + tiles, stride - tiles).Clear();
                        }
                    }

                    OutputTransforms(first, count, m, stride);
                }
            }
            finally
            {
                HostArrayPool.Shared.Return(vBuffer);
                HostArrayPool.Shared.Return(mBuffer);
            }
        }

        /// <summary>V of tile rows [first, first + count), every input channel.</summary>
        private void InputTransforms(int first, int count, float* v, long stride)
        {
            // The gathered tiles' rows have a vector more, which the phase split of the last tile row runs into (see GatherRow).
            var tiles = count * _tilesW;
            var gatherStride = stride + Lanes;
            long c = g.InChannels;
            var tileBuffer = HostArrayPool.Shared.Rent((int)(TTile.Points * (gatherStride + Lanes)) + Lanes);
            var rowBuffer = HostArrayPool.Shared.Rent((s_size * _groups * Lanes) + (3 * Lanes));
            try
            {
                fixed (float* pTile = tileBuffer, pRow = rowBuffer)
                {
                    float* d = CacheLine.Align(pTile), scratch = CacheLine.Align(pRow);
                    var transformScratch = d + (TTile.Points * gatherStride);

                    // Lanes past the last tile are transformed with the rest: zeros, not whatever the pool held.
                    for (var e = 0; e < TTile.Points; e++)
                    {
                        new Span<float>(d + (e * gatherStride) + tiles, (int)gatherStride - tiles).Clear();
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
                }
            }
            finally
            {
                HostArrayPool.Shared.Return(tileBuffer);
                HostArrayPool.Shared.Return(rowBuffer);
            }
        }

        /// <summary>Y from M, with the epilogue, into every output channel of tile rows [first, first + count).</summary>
        private void OutputTransforms(int first, int count, float* m, long stride)
        {
            var tiles = count * _tilesW;
            long oc = g.OutChannels;
            var yBuffer = HostArrayPool.Shared.Rent((int)((s_size * s_size * stride) + (TTile.Points * Lanes)) + Lanes);
            var rowBuffer = HostArrayPool.Shared.Rent((s_size * _groups * Lanes) + (3 * Lanes));
            try
            {
                fixed (float* pY = yBuffer, pRow = rowBuffer)
                {
                    float* y = CacheLine.Align(pY), scratch = CacheLine.Align(pRow);
                    var transformScratch = y + (s_size * s_size * stride);
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
                            var tileRows = new Span<float>(y, (int)(s_size * s_size * stride));
                            ActivationKernel.Apply(activation, tileRows, tileRows, 1f, shift);
                        }

                        for (var r = 0; r < count; r++)
                        {
                            var (n, ty) = Math.DivRem(first + r, _tilesH);
                            ScatterRow(y + (r * _tilesW), stride, scratch, output + (((n * oc) + o) * g.OutHeight * g.OutWidth), ty);
                        }

                        if (accumulate)
                        {
                            ActivateRows(output + (o * g.OutHeight * g.OutWidth), first, count, shift);
                        }
                    }
                }
            }
            finally
            {
                HostArrayPool.Shared.Return(yBuffer);
                HostArrayPool.Shared.Return(rowBuffer);
            }
        }

        /// <summary>
        /// The (m + 2)² input tiles of tile row <paramref name="ty"/> of one channel plane, element (k, j) of tile
        /// tx to d[((m + 2)k + j)·stride + tx]. Each of the m + 2 input rows, zero-padded, is split into its column
        /// phases P_j[tx] = row[m·tx + j] (<see cref="SplitPhases"/>): a tile's columns are P0..P(m-1) at tx and
        /// P0, P1 at tx + 1. The split writes whole vectors, up to a vector's slots past the row's tiles: into the next
        /// tile row's (gathered after this one) or the stride's spare vector.
        /// </summary>
        private void GatherRow(float* plane, int ty, float* scratch, float* d, long stride)
        {
            var width = s_size * Lanes * _groups;
            var lead = Math.Min(g.PadLeft, width);
            var copied = Math.Min(g.InWidth, width - lead);
            for (var k = 0; k < s_side; k++)
            {
                var dk = d + (s_side * k * stride);
                var iy = (s_size * ty) - g.PadTop + k;
                if ((uint)iy >= (uint)g.InHeight)
                {
                    for (var j = 0; j < s_side; j++)
                    {
                        Clear(dk + (j * stride), _tilesW);
                    }

                    continue;
                }

                // The zero-padded row, whole vectors at a time: a 7×7 plane's rows are 7 floats, too short to pay for a call.
                Clear(scratch, width);
                var row = plane + ((long)iy * g.InWidth);
                for (var x = 0; x < copied; x += Lanes)
                {
                    TLanes.Store(TLanes.MaskLoad(row + x, FirstLanes(copied - x)), scratch + lead + x);
                }

                SplitPhases(scratch, dk, stride, _groups);
                Copy(dk + 1, dk + (s_size * stride), _tilesW);
                Copy(dk + stride + 1, dk + ((s_size + 1) * stride), _tilesW);
            }
        }

        /// <summary>
        /// One output channel's tiles of a tile row (y[(m·a + b)·stride + tx] for output (a, b)) put back in output
        /// rows m·ty.. of <paramref name="plane"/>; accumulating, added to the rows' current values (bias and
        /// activation follow in <see cref="ActivateRows"/>; otherwise <see cref="Chunk"/> has applied them).
        /// </summary>
        private void ScatterRow(float* y, long stride, float* scratch, float* plane, int ty)
        {
            for (var a = 0; a < s_size && (s_size * ty) + a < g.OutHeight; a++)
            {
                var dst = plane + ((long)((s_size * ty) + a) * g.OutWidth);
                InterleaveColumns(y + (s_size * a * stride), stride, dst, g.OutWidth, scratch, accumulate);
            }
        }

        /// <summary>
        /// Bias and activation, in place, over the output rows of tile rows [first, first + count) of one
        /// channel (<paramref name="channel"/> = the channel's plane in image 0): one call per image's run of rows.
        /// </summary>
        private void ActivateRows(float* channel, int first, int count, float shift)
        {
            long imagePlanes = (long)g.OutChannels * g.OutHeight * g.OutWidth;
            for (var r = first; r < first + count;)
            {
                var (n, ty) = Math.DivRem(r, _tilesH);
                var last = Math.Min(first + count, (n + 1) * _tilesH);
                var top = s_size * ty;
                var bottom = Math.Min(g.OutHeight, s_size * (ty + last - r));
                var span = new Span<float>(channel + (n * imagePlanes) + ((long)top * g.OutWidth), (bottom - top) * g.OutWidth);
                ActivationKernel.Apply(activation, span, span, 1f, shift);
                r = last;
            }
        }
    }

    /// <summary>
    /// p[k·stride + j] = src[m·j + k] for k &lt; m and j &lt; Lanes·<paramref name="groups"/>: the column phases
    /// of a row, Lanes·m columns a step (m = 4: two permutes into even and odd, two more into the four phases).
    /// </summary>
    private static void SplitPhases(float* src, float* p, long stride, int groups)
    {
        for (var i = 0; i < groups; i++, src += TTile.Size * Lanes, p += Lanes)
        {
            var (evenLow, oddLow) = TLanes.Deinterleave(TLanes.Load(src), TLanes.Load(src + Lanes));
            if (TTile.Size == 2)
            {
                TLanes.Store(evenLow, p);
                TLanes.Store(oddLow, p + stride);
                continue;
            }

            var (evenHigh, oddHigh) = TLanes.Deinterleave(TLanes.Load(src + (2 * Lanes)), TLanes.Load(src + (3 * Lanes)));
            var (phase0, phase2) = TLanes.Deinterleave(evenLow, evenHigh);
            var (phase1, phase3) = TLanes.Deinterleave(oddLow, oddHigh);
            TLanes.Store(phase0, p);
            TLanes.Store(phase1, p + stride);
            TLanes.Store(phase2, p + (2 * stride));
            TLanes.Store(phase3, p + (3 * stride));
        }
    }

    /// <summary>
    /// dst[m·j + b] = y[b·stride + j] (<paramref name="add"/>: dst[m·j + b] += y[b·stride + j]) for the first
    /// <paramref name="count"/> values of dst: an output row from its tiles' m columns, a vector of tiles (m = 4:
    /// four permutes into pairs, four more into quadruples) a step; a last partial step goes through
    /// <paramref name="tail"/> (m·Lanes floats), so nothing past dst's row is touched.
    /// </summary>
    private static void InterleaveColumns(float* y, long stride, float* dst, int count, float* tail, bool add)
    {
        var step = TTile.Size * Lanes;
        for (var j = 0; j < count; j += step, y += Lanes)
        {
            var whole = count - j >= step;
            var target = whole ? dst + j : tail;
            var y0 = TLanes.Load(y);
            var y1 = TLanes.Load(y + stride);
            if (TTile.Size == 2)
            {
                var (low, high) = TLanes.Interleave(y0, y1);
                Store(low, target, add && whole);
                Store(high, target + Lanes, add && whole);
            }
            else
            {
                var (evenLow, evenHigh) = TLanes.Interleave(y0, TLanes.Load(y + (2 * stride)));
                var (oddLow, oddHigh) = TLanes.Interleave(y1, TLanes.Load(y + (3 * stride)));
                var (first, second) = TLanes.Interleave(evenLow, oddLow);
                var (third, fourth) = TLanes.Interleave(evenHigh, oddHigh);
                Store(first, target, add && whole);
                Store(second, target + Lanes, add && whole);
                Store(third, target + (2 * Lanes), add && whole);
                Store(fourth, target + (3 * Lanes), add && whole);
            }

            if (!whole)
            {
                for (var i = 0; j + i < count; i += Lanes)
                {
                    var lanes = FirstLanes(count - j - i);
                    var value = TLanes.Load(tail + i);
                    if (add)
                    {
                        value = TLanes.Add(value, TLanes.MaskLoad(dst + j + i, lanes));
                    }

                    TLanes.MaskStore(value, dst + j + i, lanes);
                }
            }
        }
    }

    private static void Store(TVector value, float* target, bool add) =>
        TLanes.Store(add ? TLanes.Add(value, TLanes.Load(target)) : value, target);

    /// <summary>A mask of the first <paramref name="count"/> lanes (all of them from Lanes on).</summary>
    private static TVector FirstLanes(int count) => TLanes.LanesIn(0, 0, count);

    // Whole vectors covering count floats: the tile-major rows' spare slots (see GatherRow) take the excess.
    private static void Clear(float* dst, int count)
    {
        for (var i = 0; i < count; i += Lanes)
        {
            TLanes.Store(TLanes.Zero, dst + i);
        }
    }

    private static void Copy(float* src, float* dst, int count)
    {
        for (var i = 0; i < count; i += Lanes)
        {
            TLanes.Store(TLanes.Load(src + i), dst + i);
        }
    }
}
