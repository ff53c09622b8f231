using System.Runtime.CompilerServices;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Winograd F(4×4, 3×3) for the 3×3 stride-1 convolutions of <see cref="WinogradConv2dKernel.IsWinogradShape"/>
/// on large planes with at most 128·128 filters: each 6×6 input tile d becomes V = Bᵀ·d·B, each filter
/// g becomes U = G·g·Gᵀ, and a tile's 4×4 outputs are Aᵀ·(U ⊙ V)·A: 36 multiplies per channel for 16
/// outputs, where F(2×2) takes 64 and direct convolution 144. The 36 GEMMs and the transforms, on 16 tiles
/// at once with AVX-512 (8 with AVX2), run in <see cref="WinogradTileMajor{TTile, TLanes, TVector}"/>.
/// Interpolation points 0, -1, 1, ½, -2 (and ∞): of the sets tried in a float32 simulation of ResNet-like
/// layers (64 channels, ReLU inputs, He-scaled filters) the most accurate, an RMS error of 8.7e-7 of the
/// outputs' RMS against 1.33e-6 for Lavin's 0, ±1, ±2 (0, ±1, ±½: 1.25e-6); Lavin's points broke the
/// Ablation-CAM parity of a VGG fixture (relative L2 1.3e-3, allowed 1e-3). The filter transform runs
/// in double. The error is still larger than F(2×2)'s (measured on such layers: 2–4e-7). Needs AVX-512 or
/// AVX2 with FMA, and the filters' transforms kept in the model's cache (<see cref="WinogradWeights"/>).
/// </summary>
internal static unsafe class Winograd4x4Conv2dKernel
{
    private const int Points = 36;

    // Tiles per GEMM: V and M of a chunk are 36·(C + OC)·T floats, 2.25 times F(2×2)'s per tile. With
    // ResNet-50's 3×3 layers at batch 8 (one layer, 2 threads, weights kept, best of 15 calls), 128
    // was as fast as 96 or 192 and faster than 64.
    private const int TargetTiles = 128;

    // With AVX2, fewer where a chunk's V or M (36·channels·tiles floats) would pass this many floats (1 MiB):
    // ResNet-18's 128-channel 28×28 layers made 1.9 MB arrays for V and M, which the pool keeps beside the
    // other layers' scratch, and the forward peak rose from 259–260 MB to 266–269 (ONNX Runtime: 260–263) on a
    // Zen 3; chunks of at most 1 MiB each brought it back to 259–260 at the same speed, within the noise.
    private const int MaxChunkFloats = 1 << 18;

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
        WinogradTileMajor.Supported(gemm) && WinogradWeights.Lasting(gemm, cache)
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
        Run(gemm, g, input, lhs, bias, output, activation, accumulate);
    }

    /// <summary>
    /// The input gradient of <paramref name="g"/> as <see cref="WinogradConv2dKernel.BackwardData"/> makes it, with
    /// F(4×4): for a convolution whose <see cref="WinogradConv2dKernel.BackwardGeometry"/> this kernel <see cref="Applies"/> to.
    /// </summary>
    public static void BackwardData(CpuGemm gemm, in Conv2dGeometry g, WeightCache weights, float* outputGradient, float* inputGradient)
    {
        using var lhs = WinogradWeights.For<Tile>(gemm, g, weights, flipped: true);
        Run(gemm, WinogradConv2dKernel.BackwardGeometry(g), outputGradient, lhs, null, inputGradient, FusedActivation.None, false);
    }

    private static void Run(CpuGemm gemm, in Conv2dGeometry g, float* input, WinogradWeights lhs, float* bias, float* output, in FusedActivation activation,
        bool accumulate)
    {
        var targetTiles = gemm.Kernels == ManagedGemm.Kernels.Vector512 ? TargetTiles
            : Math.Min(TargetTiles, MaxChunkFloats / (Points * Math.Max(g.InChannels, g.OutChannels)));
        WinogradTileMajor.Run<Tile>(gemm, g, input, lhs, bias, output, activation, accumulate, targetTiles);
    }

    // The F(4×4, 3×3) transforms.
    private readonly struct Tile : IWinogradVectorTile
    {
        public static int Points => Winograd4x4Conv2dKernel.Points;

        public static int Size => 4;

        // Bᵀ·(d0..d5), with Bᵀ's rows the coefficients (constant term first) of ∏(x - q) over the finite
        // points but p, for each p, and of the product over all of them: (1, -3/2, -2, 3/2, 1, 0),
        // (0, 1, -5/2, 1/2, 1, 0), (0, -1, 1/2, 5/2, 1, 0), (0, -2, -1, 2, 1, 0), (0, 1/2, -1, -1/2, 1, 0),
        // (0, 1, -3/2, -2, 3/2, 1).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void InputColumn<TLanes, TVector>(float* src, long srcStride, float* dst, long dstStride)
            where TLanes : struct, IFloatLanes<TVector>
            where TVector : unmanaged
        {
            var d0 = TLanes.Load(src);
            var d1 = TLanes.Load(src + srcStride);
            var d2 = TLanes.Load(src + (2 * srcStride));
            var d3 = TLanes.Load(src + (3 * srcStride));
            var d4 = TLanes.Load(src + (4 * srcStride));
            var d5 = TLanes.Load(src + (5 * srcStride));
            var half = TLanes.Create(0.5f);
            var threeHalves = TLanes.Create(1.5f);
            var two = TLanes.Create(2f);
            var fiveHalves = TLanes.Create(2.5f);
            var d42 = TLanes.Subtract(d4, d2);
            TLanes.Store(TLanes.FusedMultiplyAdd(threeHalves, TLanes.Subtract(d3, d1), TLanes.FusedMultiplyAdd(TLanes.Negate(two), d2, TLanes.Add(d0, d4))), dst);
            TLanes.Store(TLanes.FusedMultiplyAdd(TLanes.Negate(fiveHalves), d2, TLanes.FusedMultiplyAdd(half, d3, TLanes.Add(d1, d4))), dst + dstStride);
            TLanes.Store(TLanes.FusedMultiplyAdd(fiveHalves, d3, TLanes.FusedMultiplyAdd(half, d2, TLanes.Subtract(d4, d1))), dst + (2 * dstStride));
            TLanes.Store(TLanes.FusedMultiplyAdd(two, TLanes.Subtract(d3, d1), d42), dst + (3 * dstStride));
            TLanes.Store(TLanes.FusedMultiplyAdd(half, TLanes.Subtract(d1, d3), d42), dst + (4 * dstStride));
            TLanes.Store(TLanes.FusedMultiplyAdd(threeHalves, d42, TLanes.FusedMultiplyAdd(TLanes.Negate(two), d3, TLanes.Add(d1, d5))), dst + (5 * dstStride));
        }

        // Aᵀ·(m0..m5), with Aᵀ's rows the powers 0..3 of the points (and of ∞: 0, 0, 0, 1):
        // (1, 1, 1, 1, 1, 0), (0, -1, 1, 1/2, -2, 0), (0, 1, 1, 1/4, 4, 0), (0, -1, 1, 1/8, -8, 1).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void OutputColumn<TLanes, TVector>(float* src, long srcStride, float* dst, long dstStride)
            where TLanes : struct, IFloatLanes<TVector>
            where TVector : unmanaged
        {
            var m0 = TLanes.Load(src);
            var m1 = TLanes.Load(src + srcStride);
            var m2 = TLanes.Load(src + (2 * srcStride));
            var m3 = TLanes.Load(src + (3 * srcStride));
            var m4 = TLanes.Load(src + (4 * srcStride));
            var m5 = TLanes.Load(src + (5 * srcStride));
            var sum12 = TLanes.Add(m1, m2);
            var difference21 = TLanes.Subtract(m2, m1);
            TLanes.Store(TLanes.Add(TLanes.Add(TLanes.Add(m0, sum12), m3), m4), dst);
            TLanes.Store(TLanes.FusedMultiplyAdd(TLanes.Create(0.5f), m3, TLanes.FusedMultiplyAdd(TLanes.Create(-2f), m4, difference21)), dst + dstStride);
            TLanes.Store(TLanes.FusedMultiplyAdd(TLanes.Create(0.25f), m3, TLanes.FusedMultiplyAdd(TLanes.Create(4f), m4, sum12)), dst + (2 * dstStride));
            TLanes.Store(
                TLanes.FusedMultiplyAdd(TLanes.Create(0.125f), m3, TLanes.FusedMultiplyAdd(TLanes.Create(-8f), m4, TLanes.Add(difference21, m5))),
                dst + (3 * dstStride));
        }

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
}
