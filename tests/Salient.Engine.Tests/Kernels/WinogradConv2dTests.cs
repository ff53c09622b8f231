using Salient.Engine.Kernels;
using Salient.Engine.Kernels.Cpu;

namespace Salient.Engine.Tests.Kernels;

/// <summary>The Winograd F(2×2, 3×3) kernel against the naive convolution, called directly so that sizes below its channel threshold are covered too.</summary>
public unsafe class WinogradConv2dTests
{
    // Batch, C, H, W, OC, PT, PL, PB, PR.
    private static readonly int[][] s_geometries =
    [
        [1, 1, 3, 3, 1, 0, 0, 0, 0], // one tile, one output
        [2, 3, 9, 11, 5, 1, 1, 1, 1], // odd output: the last tile row and column are half used
        [3, 17, 8, 37, 9, 1, 1, 1, 1], // wide rows: vector and scalar tails, channels not a multiple of 8
        [1, 4, 7, 7, 6, 0, 0, 0, 0], // unpadded, odd output
        [2, 5, 6, 10, 3, 2, 0, 1, 2], // asymmetric padding wider than the kernel's reach
        [5, 16, 7, 7, 24, 1, 1, 1, 1], // ResNet layer4-like: tile rows spread over images and chunks
        [2, 8, 21, 20, 8, 1, 1, 1, 1], // several chunks
    ];

    public static readonly TheoryData<string, int, bool> Cases = Build();

    private static TheoryData<string, int, bool> Build()
    {
        var data = new TheoryData<string, int, bool>();
        foreach (var backend in Backends.Names)
        {
            for (var i = 0; i < s_geometries.Length; i++)
            {
                data.Add(backend, i, true);
                data.Add(backend, i, false);
            }
        }

        return data;
    }

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
        var gemm = new CpuGemm(backend == "managed" || Backends.ManagedOnly ? GemmProvider.Managed : GemmProvider.OpenBlas);
        foreach (var accumulate in new[] { false, true })
        {
            var output = accumulate ? (float[])residual.Clone() : new float[sum.Length];
            if (!accumulate)
            {
                Array.Fill(output, float.NaN);
            }

            fixed (float* pIn = input, pW = weight, pBias = bias, pOut = output)
            {
                WinogradConv2dKernel.Run(gemm, g, pIn, pW, withBias ? pBias : null, pOut, act, accumulate);
            }

            Reference.AssertClose([.. sum.Select((x, i) => Reference.Activate(act, x + (accumulate ? residual[i] : 0f)))], output);
        }
    }

    [Fact]
    public void Winograd_serves_only_3x3_stride_1_ungrouped_convolutions_with_enough_channels_and_tiles()
    {
        Assert.True(WinogradConv2dKernel.Applies(new Conv2dGeometry(8, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)));
        Assert.False(WinogradConv2dKernel.Applies(new Conv2dGeometry(8, 64, 56, 56, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1)));
        Assert.False(WinogradConv2dKernel.Applies(new Conv2dGeometry(8, 64, 56, 56, 64, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1)));
        Assert.False(WinogradConv2dKernel.Applies(new Conv2dGeometry(8, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2)));
        Assert.False(WinogradConv2dKernel.Applies(new Conv2dGeometry(8, 3, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)));
        Assert.False(WinogradConv2dKernel.Applies(new Conv2dGeometry(8, 64, 56, 56, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1)));
        Assert.False(WinogradConv2dKernel.Applies(new Conv2dGeometry(8, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)));
    }
}
