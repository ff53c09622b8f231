using Salient.Engine.Kernels;

namespace Salient.Engine.Tests.Kernels;

/// <summary>
/// 1×1 convolutions of at most 2048 input channels, which the CPU backend runs with AVX-512 on
/// PointwiseConv2dKernel and held to AVX2 ("managed-avx2") on the GEMM, against the naive convolution:
/// panels of 12, 8 and 4 output channels with rows past the last one, planes of whole tiles, of a
/// partial last tile and of several tasks, tiles spanning two or more images, alone and accumulating
/// onto a residual.
/// </summary>
public class PointwiseConv2dTests
{
    // Batch, C, H, W, OC.
    private static readonly int[][] s_geometries =
    [
        [2, 16, 7, 7, 24], // MobileNet's last planes: one whole tile and a partial one
        [1, 5, 16, 16, 13], // whole tiles only; 12 rows and a 4-row panel with one row
        [3, 24, 23, 29, 7], // several tasks per image, a partial tile at the end; an 8-row panel with one row past
        [1, 3, 1, 1, 4], // one column
        [1, 2048, 5, 9, 30], // the deepest it takes
        [3, 40, 7, 7, 26], // tiles that end in one image and go on in the next
        [5, 9, 3, 3, 14], // planes smaller than a tile: one tile spans four images
        [2, 6, 33, 34, 13], // a plane large enough to read its whole tiles in place, and a tile spanning both images
    ];

    private static readonly FusedActivation[] s_activations =
    [
        new(ActivationKind.Clip, 0f, 0.5f),
        FusedActivation.None,
        new(ActivationKind.Relu),
        new(ActivationKind.HardSwish),
        new(ActivationKind.Clip, -0.25f, 0.25f),
        new(ActivationKind.Relu),
        new(ActivationKind.HardSwish),
        new(ActivationKind.Clip, 0f, 6f),
    ];

    public static readonly TheoryData<string, int> Cases = Backends.Cross(Backends.GemmNames, s_geometries.Length);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Pointwise_matches_reference_alone_and_accumulating_onto_a_residual(string backend, int index)
    {
        var v = s_geometries[index];
        var g = new Conv2dGeometry(v[0], v[1], v[2], v[3], v[4], 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1);
        var act = s_activations[index];
        var input = Reference.Random(g.Batch * g.InChannels * g.InHeight * g.InWidth, 120 + index);
        var weight = Reference.Random(g.OutChannels * g.InChannels, 130 + index);
        Reference.AssertConvEpilogues(Backends.Get(backend), g, input, weight, act, 140 + index);
    }
}
