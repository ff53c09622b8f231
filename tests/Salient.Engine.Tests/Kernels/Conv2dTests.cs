using Salient.Engine.Kernels;

namespace Salient.Engine.Tests.Kernels;

public class Conv2dTests
{
    // Batch, C, H, W, OC, KH, KW, SH, SW, PT, PL, PB, PR, DH, DW, Groups; shared with the backward tests.
    internal static readonly int[][] Geometries =
    [
        [1, 3, 9, 11, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1], // padded 3×3
        [2, 4, 10, 7, 6, 3, 2, 2, 1, 0, 1, 2, 0, 1, 1, 1], // asymmetric padding, stride
        [3, 6, 11, 9, 4, 3, 3, 1, 2, 2, 1, 1, 2, 2, 1, 2], // groups, dilation
        [2, 5, 7, 9, 8, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1], // 1×1 direct
        [3, 6, 6, 5, 9, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 3], // 1×1 direct, grouped
        [1, 3, 6, 7, 4, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1], // 1×1 stride 2 (im2col)
        [1, 3, 5, 5, 2, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1], // 1×1 padded (im2col)
        [2, 8, 9, 13, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8], // depthwise
        [1, 5, 12, 11, 5, 5, 5, 2, 2, 2, 1, 3, 2, 1, 1, 5], // depthwise, stride 2, asymmetric
        [2, 4, 9, 9, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 4], // depthwise, dilated
        [2, 3, 9, 81, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3], // depthwise, stride 2, rows wide enough for vectors
        [1, 2, 6, 45, 2, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2], // depthwise, dilated, wide rows
        [2, 3, 7, 8, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3], // channel multiplier 2 (not depthwise)
        [4, 16, 15, 15, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1], // big enough for the parallel paths
        [3, 3, 23, 21, 16, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1], // ResNet stem, odd size
        [9, 6, 5, 6, 10, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1], // small planes: several images per GEMM, the last share short
        [9, 8, 3, 4, 12, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2], // the same, pointwise and grouped
    ];

    private static readonly FusedActivation[] s_activations =
    [
        new(ActivationKind.Relu), FusedActivation.None, new(ActivationKind.LeakyRelu, 0.1f), new(ActivationKind.Clip, 0f, 6f),
        new(ActivationKind.HardSwish), new(ActivationKind.None), new(ActivationKind.Sigmoid), new(ActivationKind.Relu),
        new(ActivationKind.Clip, -0.5f, 0.5f), new(ActivationKind.Clip, 0f, 6f), new(ActivationKind.HardSwish),
        new(ActivationKind.HardSigmoid, 0.2f, 0.5f), new(ActivationKind.LeakyRelu, 0.01f),
        new(ActivationKind.Relu), new(ActivationKind.None), new(ActivationKind.Relu), new(ActivationKind.Clip, 0f, 6f),
    ];

    public static readonly TheoryData<string, int, bool> Cases = Backends.CrossBothWays(Backends.GemmNames, Geometries.Length);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conv2d_matches_reference_alone_and_accumulating_onto_a_residual(string backend, int index, bool withBias)
    {
        var g = Geometry(Geometries[index]);
        var act = s_activations[index];
        var input = Reference.Random(g.Batch * g.InChannels * g.InHeight * g.InWidth, 10 + index);
        var weight = Reference.Random(g.OutChannels * (g.InChannels / g.Groups) * g.KernelHeight * g.KernelWidth, 20 + index);
        var bias = withBias ? Reference.Random(g.OutChannels, 30 + index) : null;
        var expected = Reference.Conv2d(g, input, weight, bias, act);
        var output = new float[expected.Length];
        Array.Fill(output, float.NaN);

        Backends.Get(backend).Conv2d(g, input, weight, bias ?? [], output, act);

        Reference.AssertClose(expected, output);

        // A fused residual Add: output = act(conv + bias + residual).
        var sum = Reference.Conv2d(g, input, weight, bias, FusedActivation.None);
        var residual = Reference.Random(sum.Length, 40 + index);
        output = (float[])residual.Clone();
        Backends.Get(backend).Conv2d(g, input, weight, bias ?? [], output, act, accumulate: true);

        Reference.AssertClose([.. sum.Select((v, i) => Reference.Activate(act, v + residual[i]))], output);
    }

    internal static Conv2dGeometry Geometry(int[] v) =>
        new(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14], v[15]);

    [Fact]
    public void Conv2d_rejects_channels_that_do_not_divide_into_groups()
    {
        var g = new Conv2dGeometry(1, 3, 4, 4, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 2);
        Assert.Throws<ArgumentException>(() => Backends.Get("managed").Conv2d(g, new float[48], new float[6], default, new float[64], FusedActivation.None));
    }
}
