using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Engine.Tests.Kernels;

/// <summary>
/// 3×3 stride-1 convolutions on planes of at least 4×4 tiles of 4×4 outputs with the weights kept in a
/// model's cache, which the CPU backend gives to its Winograd F(4×4, 3×3) kernel with the managed GEMM
/// (16 tiles a vector with AVX-512, 8 held to AVX2; to F(2×2) with OpenBLAS), against the naive convolution:
/// partial last tile rows and columns, chunks whose tile count is not a whole number of vectors, padding of
/// every kind, batches spread over chunks, every epilogue.
/// </summary>
public class Winograd4x4Conv2dTests
{
    // Batch, C, H, W, OC, PT, PL, PB, PR.
    private static readonly int[][] s_geometries =
    [
        [1, 16, 28, 28, 16, 1, 1, 1, 1], // 7×7 tiles
        [2, 17, 29, 31, 18, 1, 1, 1, 1], // odd planes: the last tile row and column partly used; channels not a multiple of 16
        [1, 16, 30, 33, 16, 0, 0, 0, 0], // unpadded: 28×31 outputs
        [2, 16, 28, 30, 16, 2, 0, 1, 2], // asymmetric padding wider than the kernel's reach
        [3, 24, 28, 28, 32, 1, 1, 1, 1], // tile rows spread over images and chunks of 77 tiles
        [1, 16, 9, 70, 16, 1, 1, 1, 1], // rows of 18 tiles: more than one vector of tiles, and a partial one
        [2, 16, 64, 64, 16, 1, 1, 1, 1], // 512 tiles: more chunks than threads
        [1, 16, 56, 56, 128, 1, 1, 1, 1], // 128 filters: AVX2 holds chunks to 1 MiB (4 tile rows, not 7)
    ];

    private static readonly FusedActivation[] s_activations =
    [
        new(ActivationKind.Relu),
        FusedActivation.None,
        new(ActivationKind.Clip, -0.5f, 0.5f),
        new(ActivationKind.Relu),
        new(ActivationKind.HardSwish),
        new(ActivationKind.Relu),
        new(ActivationKind.Relu),
        FusedActivation.None,
    ];

    public static readonly TheoryData<string, int> Cases = Backends.Cross(Backends.GemmNames, s_geometries.Length);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Winograd4x4_matches_reference_with_every_epilogue(string backend, int index)
    {
        var g = Geometry(s_geometries[index]);
        var input = Reference.Random(g.Batch * g.InChannels * g.InHeight * g.InWidth, 140 + index);
        var weight = Reference.Random(g.OutChannels * g.InChannels * 9, 150 + index);
        Reference.AssertConvEpilogues(Backends.Get(backend), g, input, weight, s_activations[index], 160 + index, new PreparedWeights());
    }

    // A 29×28 plane and a 13×14 one: 4×4 tiles, the fewest it takes.
    private static readonly int[][] s_cachedGeometries =
    [
        [2, 16, 29, 28, 24, 1, 1, 1, 1],
        [3, 24, 13, 14, 16, 1, 1, 1, 1],
    ];

    public static readonly TheoryData<string, int> CachedCases = Backends.Cross(Backends.Names, s_cachedGeometries.Length);

    [Theory]
    [MemberData(nameof(CachedCases))]
    public void Transformed_weights_kept_in_the_model_cache_serve_later_calls(string backend, int index)
    {
        var g = Geometry(s_cachedGeometries[index]);
        var cpu = Backends.Get(backend);
        var weight = BufferView.Host(Reference.Random(g.OutChannels * g.InChannels * 9, 170));
        var bias = Reference.Random(g.OutChannels, 171);
        var act = new FusedActivation(ActivationKind.Relu);
        var prepared = new PreparedWeights();
        var input = Reference.Random(g.Batch * g.InChannels * g.InHeight * g.InWidth, 172);
        var expected = Reference.Conv2d(g, input, weight.Span.ToArray(), bias, act);
        for (var pass = 0; pass < 2; pass++)
        {
            var output = new float[expected.Length];
            cpu.Conv2d(g, input, weight, bias, output, act, prepared: prepared);
            Reference.AssertClose(expected, output);
        }

        // The managed GEMM keeps one entry, OpenBLAS (packing inside each product) none.
        Assert.Equal(cpu.UsesOpenBlas ? 0 : 1, prepared.Count);
    }

    private static Conv2dGeometry Geometry(int[] v) => new(v[0], v[1], v[2], v[3], v[4], 3, 3, 1, 1, v[5], v[6], v[7], v[8], 1, 1, 1);
}
