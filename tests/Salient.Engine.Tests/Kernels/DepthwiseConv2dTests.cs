using Salient.Engine.Kernels;

namespace Salient.Engine.Tests.Kernels;

/// <summary>
/// Depthwise convolutions (groups = in = out channels) against the naive convolution: with AVX-512
/// the CPU backend runs 3×3 stride-2 ones padded 1 at the top and left, to rows of at most 16,
/// straight from the input rows (StridedDepthwise3x3Kernel), the others on stride-phase planes (PaddedDepthwiseConv2dKernel), held to AVX2
/// ("managed-avx2", and every backend on CPUs without AVX-512) all on the stride-phase planes with 256-bit vectors; both alone and accumulating onto a residual, with the
/// activations the epilogue clamps and one it leaves to a second pass.
/// </summary>
public class DepthwiseConv2dTests
{
    // Batch, C, H, W, K, S, PT, PL, PB, PR, D.
    private static readonly int[][] s_geometries =
    [
        [3, 24, 7, 7, 3, 1, 1, 1, 1, 1, 1], // MobileNet's last planes: one output row shorter than a vector; several planes a task
        [2, 20, 14, 14, 3, 2, 1, 1, 1, 1, 1], // stride 2 to 7×7, several planes a task
        [2, 3, 13, 37, 3, 1, 1, 1, 1, 1, 1], // several blocks per plane, rows wider than two vectors with a tail
        [1, 3, 15, 35, 3, 2, 1, 1, 1, 1, 1], // stride 2 on odd sizes: the last column and row fall in one phase only
        [1, 2, 12, 12, 3, 2, 0, 0, 1, 1, 1], // "same" padding of stride 2 (bottom and right only)
        [1, 2, 9, 11, 5, 1, 4, 3, 2, 4, 2], // 5×5, dilation 2, asymmetric padding wider than the kernel
        [1, 2, 10, 11, 3, 3, 1, 2, 1, 0, 1], // stride 3: three phases per axis
        [1, 2, 6, 1, 3, 1, 1, 1, 1, 1, 1], // one input column
        [2, 3, 9, 32, 3, 2, 1, 1, 1, 1, 1], // 3×3 stride 2 to rows of 16 (one vector): the widest straight from the input rows
        [1, 2, 12, 12, 3, 2, 1, 1, 0, 0, 1], // 3×3 stride 2, padding at the top and left only
        [1, 2, 8, 9, 3, 2, 1, 1, 3, 3, 1], // 3×3 stride 2, padding past the input: whole rows and columns of zeros
        [1, 4, 13, 13, 3, 2, 1, 1, 1, 1, 1], // 3×3 stride 2 with an activation applied after the store
        [2, 5, 28, 28, 3, 2, 1, 1, 1, 1, 1], // MobileNet's 28×28 → 14×14: on AVX2 rows of one vector and a 6-lane tail
        [1, 3, 14, 14, 3, 1, 1, 1, 1, 1, 1], // MobileNet's 14×14 planes, stride 1: on AVX2 a 6-lane tail per row
        [1, 3, 5, 66, 3, 2, 1, 1, 1, 1, 1], // stride 2 to rows of 33: four vectors and a 1-lane tail
        [2, 2, 4, 48, 3, 1, 1, 1, 1, 1, 1], // rows of 48 (six vectors on AVX2), activation after the store
    ];

    private static readonly FusedActivation[] s_activations =
    [
        FusedActivation.None,
        new(ActivationKind.Relu),
        new(ActivationKind.Clip, 0f, 0.5f),
        new(ActivationKind.LeakyRelu, 0.1f),
    ];

    public static readonly TheoryData<string, int, int> Cases = Build();

    private static TheoryData<string, int, int> Build()
    {
        var data = new TheoryData<string, int, int>();
        foreach (var backend in Backends.GemmNames)
        {
            for (var i = 0; i < s_geometries.Length; i++)
            {
                // Each geometry with one activation, so every pair of them meets in a lean set.
                data.Add(backend, i, i % s_activations.Length);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Depthwise_matches_reference_alone_and_accumulating_onto_a_residual(string backend, int index, int activation)
    {
        var v = s_geometries[index];
        var g = new Conv2dGeometry(v[0], v[1], v[2], v[3], v[1], v[4], v[4], v[5], v[5], v[6], v[7], v[8], v[9], v[10], v[10], v[1]);
        var act = s_activations[activation];
        var input = Reference.Random(g.Batch * g.InChannels * g.InHeight * g.InWidth, 80 + index);
        var weight = Reference.Random(g.OutChannels * g.KernelHeight * g.KernelWidth, 90 + index);
        Reference.AssertConvEpilogues(Backends.Get(backend), g, input, weight, act, 100 + index);
    }
}
