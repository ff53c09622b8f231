using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Engine.Tests.Kernels;

/// <summary>
/// 3×3 stride-1 convolutions the CPU backend gives to its Winograd F(2×2, 3×3) kernel (at least 16
/// input and output channels, at least 64 output tiles per image, or 16 with weights kept in a
/// model's cache) against the naive convolution. Planes of fewer than 8 tiles a row take its tile-major
/// transforms with AVX-512 and the row ones on the managed GEMM held to AVX2 (and on CPUs without AVX-512).
/// </summary>
public class WinogradConv2dTests
{
    // Batch, C, H, W, OC, PT, PL, PB, PR.
    private static readonly int[][] s_geometries =
    [
        [1, 16, 16, 16, 16, 1, 1, 1, 1], // exactly the tile threshold
        [2, 17, 17, 19, 18, 1, 1, 1, 1], // odd output: the last tile row and column are half used; channels not a multiple of 8
        [1, 16, 18, 37, 16, 0, 0, 0, 0], // unpadded, wide rows: vector and scalar tails
        [2, 16, 16, 18, 16, 2, 0, 1, 2], // asymmetric padding wider than the kernel's reach
        [3, 24, 16, 16, 32, 1, 1, 1, 1], // tile rows spread over images and chunks
        [2, 16, 40, 10, 16, 1, 1, 1, 1], // rows of 5 tiles: with AVX-512 the tile-major transforms, across rows and images
        [1, 17, 37, 13, 18, 0, 2, 1, 0], // rows of 7 tiles, the last column half used, asymmetric padding
        [4, 16, 64, 12, 16, 1, 1, 1, 1], // rows of 6 tiles, 768 in all: more chunks than threads
    ];

    public static readonly TheoryData<string, int, bool> Cases = Backends.CrossBothWays(Backends.GemmNames, s_geometries.Length);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Winograd_matches_reference_alone_and_accumulating_onto_a_residual(string backend, int index, bool withBias)
    {
        var v = s_geometries[index];
        var g = new Conv2dGeometry(v[0], v[1], v[2], v[3], v[4], 3, 3, 1, 1, v[5], v[6], v[7], v[8], 1, 1, 1);
        var act = withBias ? new FusedActivation(ActivationKind.Relu) : FusedActivation.None;
        var input = Reference.Random(g.Batch * g.InChannels * g.InHeight * g.InWidth, 40 + index);
        var weight = Reference.Random(g.OutChannels * g.InChannels * 9, 50 + index);
        var bias = withBias ? Reference.Random(g.OutChannels, 60 + index) : [];
        var sum = Reference.Conv2d(g, input, weight, withBias ? bias : null, FusedActivation.None);
        var residual = Reference.Random(sum.Length, 70 + index);
        var cpu = Backends.Get(backend);
        foreach (var accumulate in new[] { false, true })
        {
            var output = accumulate ? (float[])residual.Clone() : new float[sum.Length];
            if (!accumulate)
            {
                Array.Fill(output, float.NaN);
            }

            cpu.Conv2d(g, input, weight, bias, output, act, accumulate);

            Reference.AssertClose([.. sum.Select((x, i) => Reference.Activate(act, x + (accumulate ? residual[i] : 0f)))], output);
        }
    }

    // With weights kept in a model's cache, smaller planes go to Winograd too: down to 4×4 tiles. (The
    // 16×16 plane's forward pass takes F(4×4), and so does its input gradient with the 256-bit kernels; the
    // 7×7 plane F(2×2).)
    private static readonly int[][] s_cachedGeometries =
    [
        [3, 24, 16, 16, 32, 1, 1, 1, 1],
        [3, 16, 7, 7, 24, 1, 1, 1, 1], // ResNet's last stage: 7×7, the last tile row and column half used
    ];

    public static readonly TheoryData<string, int> CachedCases = Backends.Cross(Backends.Names, s_cachedGeometries.Length);

    [Theory]
    [MemberData(nameof(CachedCases))]
    public void Transformed_weights_kept_in_the_model_cache_give_per_call_results_both_ways(string backend, int index)
    {
        var v = s_cachedGeometries[index];
        var g = new Conv2dGeometry(v[0], v[1], v[2], v[3], v[4], 3, 3, 1, 1, v[5], v[6], v[7], v[8], 1, 1, 1);
        var cpu = Backends.Get(backend);
        var weight = BufferView.Host(Reference.Random(g.OutChannels * g.InChannels * 9, 80));
        var bias = Reference.Random(g.OutChannels, 81);
        var act = new FusedActivation(ActivationKind.Relu);
        var prepared = new PreparedWeights();
        var input = Reference.Random(g.Batch * g.InChannels * g.InHeight * g.InWidth, 82);
        var dy = Reference.Random(g.Batch * g.OutChannels * g.OutHeight * g.OutWidth, 83);
        for (var pass = 0; pass < 2; pass++)
        {
            var output = new float[dy.Length];
            cpu.Conv2d(g, input, weight, bias, output, act, prepared: prepared);
            Reference.AssertClose(Reference.Conv2d(g, input, weight.Span.ToArray(), bias, act), output);

            var dx = new float[input.Length];
            cpu.Conv2dBackwardData(g, weight, dy, dx, prepared);
            Reference.AssertClose(Reference.Conv2dBackwardData(g, weight.Span.ToArray(), dy), dx);
        }

        // One entry per direction with the managed GEMM; OpenBLAS packs inside each product and keeps none.
        Assert.Equal(cpu.UsesOpenBlas ? 0 : 2, prepared.Count);
    }
}
