using Salient.Engine.Kernels;

namespace Salient.Engine.Tests.Kernels;

public class Conv2dBackwardTests
{
    // The forward geometries but the largest (the naive references are slow, and the parallel paths
    // are covered by smaller even batches), plus shapes that only the backward pass treats specially.
    // Batch, C, H, W, OC, KH, KW, SH, SW, PT, PL, PB, PR, DH, DW, Groups.
    private static readonly int[][] s_geometries =
    [
        .. Conv2dTests.Geometries.Where(v => v[0] * v[4] * v[1] / v[15] * v[2] * v[3] * v[5] * v[6] < 4_000_000),
        [2, 4, 5, 5, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1], // stride 2, even batch (images in parallel)
        [3, 2, 3, 4, 3, 3, 3, 1, 1, 2, 1, 1, 2, 1, 1, 1], // padding wider than the input's border
        [2, 2, 9, 9, 2, 2, 2, 3, 3, 0, 0, 0, 0, 1, 1, 1], // stride past the kernel: untouched inputs get 0
        [2, 3, 5, 17, 4, 1, 5, 1, 3, 0, 2, 0, 1, 1, 2, 1], // 1×5, stride 3 and dilation 2 along the width
        [4, 8, 6, 6, 16, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1], // 1×1 direct, images in parallel
        [2, 4, 5, 5, 4, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 4], // depthwise 1×1
        [2, 3, 6, 70, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3], // depthwise, stride 1, rows wide enough for vectors
        [2, 2, 7, 67, 2, 5, 5, 2, 2, 2, 2, 2, 2, 1, 1, 2], // depthwise 5×5, stride 2, wide rows
        [2, 2, 5, 40, 2, 3, 3, 1, 1, 0, 3, 0, 1, 1, 3, 2], // depthwise, dilated and asymmetric along wide rows
        [1, 4, 8, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 2], // grouped, stride 2, batch 1
        [2, 3, 6, 7, 3, 1, 1, 1, 1, 1, 0, 2, 1, 1, 1, 3], // depthwise 1×1 padded: padding past the kernel's reach
        [2, 2, 6, 30, 2, 3, 3, 1, 1, 2, 1, 0, 3, 1, 1, 2], // depthwise 3×3, padding past the reach on two sides
        [2, 16, 15, 17, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1], // 3×3 stride 1: the input gradient by Winograd
        [1, 17, 16, 15, 16, 3, 3, 1, 1, 2, 0, 1, 2, 1, 1, 1], // Winograd input gradient, asymmetric padding
    ];

    public static readonly TheoryData<string, int> Cases = Backends.Cross(Backends.Names, s_geometries.Length);

    private static (Conv2dGeometry G, float[] Input, float[] Weight, float[] OutputGradient) Problem(int index)
    {
        var g = Conv2dTests.Geometry(s_geometries[index]);
        return (g,
            Reference.Random(g.Batch * g.InChannels * g.InHeight * g.InWidth, 40 + index),
            Reference.Random(g.OutChannels * (g.InChannels / g.Groups) * g.KernelHeight * g.KernelWidth, 50 + index),
            Reference.Random(g.Batch * g.OutChannels * g.OutHeight * g.OutWidth, 60 + index));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Data_gradient_is_the_transposed_convolution_and_the_adjoint(string backend, int index)
    {
        var (g, x, w, dy) = Problem(index);
        var dx = new float[x.Length];
        Array.Fill(dx, float.NaN);

        Backends.Get(backend).Conv2dBackwardData(g, w, dy, dx);

        Reference.AssertClose(Reference.Conv2dBackwardData(g, w, dy), dx);

        // <conv(x), dy> = <x, convᵀ(dy)>, up to float rounding of the sum of |products|.
        var forward = Reference.Conv2d(g, x, w, null, FusedActivation.None);
        var scale = Reference.Dot(forward.Select(Math.Abs).ToArray(), dy.Select(Math.Abs).ToArray());
        Assert.InRange(Reference.Dot(x, dx) - Reference.Dot(forward, dy), -1e-5 * scale, 1e-5 * scale);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Weight_and_bias_gradients_sum_over_the_batch(string backend, int index)
    {
        var (g, x, w, dy) = Problem(index);
        var dw = new float[w.Length];
        var db = new float[g.OutChannels];
        Array.Fill(dw, float.NaN);
        Array.Fill(db, float.NaN);
        var outPlane = g.OutHeight * g.OutWidth;
        var expectedBias = Enumerable.Range(0, g.OutChannels)
            .Select(oc => (float)Enumerable.Range(0, g.Batch).Sum(n => dy.AsSpan(((n * g.OutChannels) + oc) * outPlane, outPlane).ToArray().Sum(v => (double)v)))
            .ToArray();

        Backends.Get(backend).Conv2dBackwardWeights(g, x, dy, dw, db);

        var expected = Reference.Conv2dBackwardWeights(g, x, dy);
        Reference.AssertClose(expected, dw);
        Reference.AssertClose(expectedBias, db);

        // Without a bias gradient the weight gradient is the same.
        Array.Fill(dw, float.NaN);
        Backends.Get(backend).Conv2dBackwardWeights(g, x, dy, dw, default);
        Reference.AssertClose(expected, dw);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)] // depthwise
    public void Empty_batch_gives_zero_weight_gradient(int groups)
    {
        var g = new Conv2dGeometry(0, 2, 4, 4, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, groups);
        var dw = Enumerable.Repeat(float.NaN, 2 * 2 / groups * 9).ToArray();
        var db = Enumerable.Repeat(float.NaN, 2).ToArray();

        Backends.Get("managed").Conv2dBackwardWeights(g, default, default, dw, db);

        Assert.All(dw, v => Assert.Equal(0f, v));
        Assert.All(db, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Mismatched_buffers_are_rejected()
    {
        var g = new Conv2dGeometry(1, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        var backend = Backends.Get("managed");
        Assert.Throws<ArgumentException>(() => backend.Conv2dBackwardData(g, new float[54], new float[48], new float[31]));
        Assert.Throws<ArgumentException>(() => backend.Conv2dBackwardWeights(g, new float[32], new float[48], new float[54], new float[2]));
    }
}
