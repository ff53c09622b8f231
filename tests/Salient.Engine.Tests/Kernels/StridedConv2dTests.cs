using Salient.Engine.Kernels;

namespace Salient.Engine.Tests.Kernels;

/// <summary>
/// Convolutions whose column matrix is not the input itself (strided, padded, wider than 1×1 and not
/// Winograd's), which the managed GEMM with AVX-512 packs panel by panel straight from a padded,
/// phase-split copy of the input (and the other backends unfold whole), against the naive convolution:
/// rows of outputs shorter and longer than a 32-column panel and not a multiple of it, one output per
/// row, images side by side in one product, depth past one block, strides 1 to 3, dilation, groups,
/// asymmetric padding, every epilogue, with and without kept weights.
/// </summary>
public class StridedConv2dTests
{
    // Batch, C, H, W, OC, KH, KW, SH, SW, PT, PL, PB, PR, DH, DW, Groups.
    private static readonly int[][] s_geometries =
    [
        [2, 3, 45, 47, 20, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1], // stem: 23×24 outputs, panels across rows
        [1, 3, 70, 81, 16, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1], // stem: rows of 41, whole panels and split ones
        [8, 16, 15, 15, 24, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1], // 8×8 planes, four images per product
        [3, 40, 14, 13, 36, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1], // 1×1 stride 2, odd width: even rows and columns only
        [2, 150, 9, 9, 26, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1], // 1350 deep: three whole depth blocks and a part
        [1, 5, 20, 19, 7, 3, 3, 3, 3, 2, 0, 1, 2, 1, 1, 1], // stride 3, asymmetric padding
        [2, 6, 17, 16, 8, 3, 3, 1, 2, 1, 1, 1, 1, 2, 1, 2], // strides 1×2, dilated rows, two groups
        [1, 4, 11, 40, 6, 5, 3, 1, 1, 2, 1, 2, 1, 1, 2, 1], // stride 1, 5×3, dilated columns
        [6, 3, 3, 1, 5, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1], // one output per row: a segment per column
        [1, 32, 64, 64, 40, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1], // one image, big enough to run on all cores
    ];

    private static readonly FusedActivation[] s_activations =
    [
        new(ActivationKind.Relu), FusedActivation.None, new(ActivationKind.Clip, 0f, 6f), new(ActivationKind.Relu),
        new(ActivationKind.HardSwish), new(ActivationKind.LeakyRelu, 0.1f), new(ActivationKind.Relu), new(ActivationKind.Sigmoid),
        new(ActivationKind.Clip, -0.5f, 0.5f), new(ActivationKind.Relu),
    ];

    public static readonly TheoryData<string, int, bool> Cases = Backends.CrossBothWays(Backends.GemmNames, s_geometries.Length);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Strided_convolution_matches_reference_with_every_epilogue(string backend, int index, bool keptWeights)
    {
        var g = Conv2dTests.Geometry(s_geometries[index]);
        var input = Reference.Random(g.Batch * g.InChannels * g.InHeight * g.InWidth, 180 + index);
        var weight = Reference.Random(g.OutChannels * (g.InChannels / g.Groups) * g.KernelHeight * g.KernelWidth, 190 + index);
        Reference.AssertConvEpilogues(Backends.Get(backend), g, input, weight, s_activations[index], 200 + index, keptWeights ? new PreparedWeights() : null);
    }
}
