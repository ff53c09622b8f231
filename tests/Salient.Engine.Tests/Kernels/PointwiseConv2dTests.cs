using Salient.Engine.Kernels;

namespace Salient.Engine.Tests.Kernels;

/// <summary>
/// 1×1 convolutions of at most 2048 input channels, which the CPU backend runs on PointwiseConv2dKernel
/// with AVX-512 and, held to AVX2 ("managed-avx2") or without AVX-512, with AVX2 (tiles of 16 columns,
/// panels in halves of 6 rows), against the naive convolution:
/// panels of 12, 8 and 4 output channels with rows past the last one, planes of whole tiles, of a
/// partial last tile and of several tasks, tiles spanning two or more images, alone and accumulating
/// onto a residual; strided ones (on a subsampled copy of the input) with rows of whole vectors and
/// a masked rest, odd widths, rows of fewer than 16 outputs, stride 3 and strides 1×2; odd depths and
/// planes smaller than AVX2's 16-column tiles.
/// </summary>
public class PointwiseConv2dTests
{
    // Batch, C, H, W, OC, stride (rows, columns).
    private static readonly int[][] s_geometries =
    [
        [2, 16, 7, 7, 24, 1, 1], // MobileNet's last planes: one whole tile and a partial one
        [1, 5, 16, 16, 13, 1, 1], // whole tiles only; 12 rows and a 4-row panel with one row
        [3, 24, 23, 29, 7, 1, 1], // several tasks per image, a partial tile at the end; an 8-row panel with one row past
        [1, 3, 1, 1, 4, 1, 1], // one column
        [1, 2048, 5, 9, 30, 1, 1], // the deepest it takes
        [3, 40, 7, 7, 26, 1, 1], // tiles that end in one image and go on in the next
        [5, 9, 3, 3, 14, 1, 1], // planes smaller than a tile: one tile spans four images
        [2, 6, 33, 34, 13, 1, 1], // a plane large enough to read its whole tiles in place, and a tile spanning both images
        [2, 20, 56, 70, 17, 2, 2], // ResNet's shortcut at a plane read in place: 35 outputs a row, two vectors and a masked rest
        [3, 11, 13, 15, 9, 2, 2], // odd sizes: 8 outputs a row from 15 columns, all of it masked
        [2, 7, 9, 20, 5, 3, 3], // stride 3
        [1, 9, 10, 33, 14, 1, 2], // strides 1×2: 17 outputs a row from 33 columns
        [3, 7, 5, 5, 11, 1, 1], // odd depth, 25-column planes: AVX2's 16-column tiles span images, the batch ends in a partial one; 6 + 5 rows
        [3, 13, 5, 5, 10, 1, 1], // as above with 6 + 4 rows (AVX2's 4-row half)
        [1, 1, 3, 5, 3, 1, 1], // depth 1, one partial tile of 15 columns
        [2, 5, 17, 17, 6, 2, 2], // stride 2, 9 outputs a row: one whole AVX2 vector and a masked rest of one
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
        new(ActivationKind.Relu),
        FusedActivation.None,
        new(ActivationKind.Clip, 0f, 6f),
        new(ActivationKind.Relu),
        new(ActivationKind.Clip, 0f, 6f),
        new(ActivationKind.HardSwish),
        new(ActivationKind.Relu),
        FusedActivation.None,
    ];

    public static readonly TheoryData<string, int> Cases = Backends.Cross(Backends.GemmNames, s_geometries.Length);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Pointwise_matches_reference_alone_and_accumulating_onto_a_residual(string backend, int index)
    {
        var v = s_geometries[index];
        var g = new Conv2dGeometry(v[0], v[1], v[2], v[3], v[4], 1, 1, v[5], v[6], 0, 0, 0, 0, 1, 1, 1);
        var act = s_activations[index];
        var input = Reference.Random(g.Batch * g.InChannels * g.InHeight * g.InWidth, 120 + index);
        var weight = Reference.Random(g.OutChannels * g.InChannels, 130 + index);
        Reference.AssertConvEpilogues(Backends.Get(backend), g, input, weight, act, 140 + index);
    }
}
