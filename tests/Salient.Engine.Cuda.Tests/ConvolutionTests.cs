using Salient.Engine.Cuda.Kernels;
using Salient.Engine.Kernels;
using Salient.Engine.Tests.Kernels;

namespace Salient.Engine.Cuda.Tests;

public class ConvolutionTests
{
    // batch, in channels, height, width, out channels, kernel h/w, stride h/w, pads t/l/b/r, dilation h/w, groups.
    private static readonly Conv2dGeometry[] s_geometries =
    [
        new(2, 3, 9, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), // 3×3, same padding
        new(1, 4, 11, 10, 6, 3, 2, 2, 3, 1, 0, 2, 1, 1, 1, 1), // strides, asymmetric padding, 3×2 kernel
        new(2, 4, 10, 9, 4, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 2), // dilation, two groups
        new(2, 6, 7, 9, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 6), // depthwise, stride 2
        new(1, 3, 6, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3), // one group per channel, two filters each
        new(3, 8, 5, 7, 70, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1), // pointwise, more filters than a tile
        new(1, 5, 13, 12, 3, 5, 5, 3, 2, 2, 1, 0, 2, 1, 2, 1), // 5×5, stride 3×2, horizontal dilation
        new(1, 40, 4, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1), // a long reduction (360 taps, many tiles deep)
    ];

    // bias, activation, accumulate into a residual.
    private static readonly (bool Bias, FusedActivation Activation, bool Accumulate)[] s_variants =
    [
        (true, new FusedActivation(ActivationKind.Relu), false),
        (false, FusedActivation.None, false),
        (true, new FusedActivation(ActivationKind.LeakyRelu, 0.1f), true),
    ];

    // Each geometry with one variant in turn, and every variant on the GEMM path (geometry 0) and
    // the depthwise path (geometry 3): the simulated device is slow, the cases stay few.
    public static readonly TheoryData<string, int, int> ForwardCases =
        Build([.. Enumerable.Range(0, s_geometries.Length).Select(i => (i, i % s_variants.Length)), (0, 1), (0, 2), (3, 1), (3, 2)]);

    public static readonly TheoryData<string, int, int> BackwardCases = Build([.. Enumerable.Range(0, s_geometries.Length).Select(i => (i, 0))]);

    // Implicit GEMM and the input gradient's GEMM on each tile configuration: same padding (weights'
    // ld 27: scalar loads; images of 72 pixels: the gradient's dY in 16-byte loads), two groups with
    // dilation (batched per image and group), pointwise with more filters than a small tile (weights'
    // ld 8: 16-byte loads, along K forward and along M transposed); with bias and ReLU, and LeakyReLU
    // accumulated into a residual (β = 1).
    public static readonly TheoryData<string, GemmTiles, int, int> TiledCases = BuildTiled([(0, 0), (2, 2), (5, 0), (5, 2)]);

    private static TheoryData<string, GemmTiles, int, int> BuildTiled((int Geometry, int Variant)[] cases)
    {
        var data = new TheoryData<string, GemmTiles, int, int>();
        foreach (var device in Devices.Names)
        {
            foreach (var tiles in new[] { GemmTiles.Small, GemmTiles.Large })
            {
                foreach (var (geometry, variant) in cases)
                {
                    data.Add(device, tiles, geometry, variant);
                }
            }
        }

        return data;
    }

    private static TheoryData<string, int, int> Build((int Geometry, int Variant)[] cases)
    {
        var data = new TheoryData<string, int, int>();
        foreach (var device in Devices.Names)
        {
            foreach (var (geometry, variant) in cases)
            {
                data.Add(device, geometry, variant);
            }
        }

        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(ForwardCases))]
    public void Conv2d_matches_the_cpu_backend(string device, int geometry, int variant) =>
        Conv2d_matches(Devices.Get(device).Kernels, device, geometry, variant);

    [SkippableTheory]
    [MemberData(nameof(TiledCases))]
    public void Conv2d_and_its_input_gradient_match_the_cpu_backend_with_each_tile_configuration(string device, GemmTiles tiles, int geometry, int variant)
    {
        var kernels = Devices.Get(device).KernelsWith(tiles);
        Conv2d_matches(kernels, device, geometry, variant);
        Conv2d_input_gradient_matches(kernels, device, geometry);
    }

    private static void Conv2d_matches(GpuKernels kernels, string device, int geometry, int variant)
    {
        var d = Devices.Get(device);
        var g = s_geometries[geometry];
        var (withBias, activation, accumulate) = s_variants[variant];
        var input = Reference.Random(g.Batch * g.InChannels * g.InHeight * g.InWidth, 1);
        var weight = Reference.Random(g.OutChannels * (g.InChannels / g.Groups) * g.KernelHeight * g.KernelWidth, 2);
        var bias = withBias ? Reference.Random(g.OutChannels, 3) : [];
        var residual = accumulate ? Reference.Random(g.Batch * g.OutChannels * g.OutHeight * g.OutWidth, 4) : new float[g.Batch * g.OutChannels * g.OutHeight * g.OutWidth];
        var expected = (float[])residual.Clone();
        Devices.Cpu.Conv2d(g, input, weight, bias, expected, activation, accumulate);

        var actual = d.Run(residual, (x, y) => kernels.Conv2d(g, x[0], x[1], x[2], y, activation, accumulate), input, weight, bias);

        Reference.AssertClose(expected, actual);
    }

    [SkippableTheory]
    [MemberData(nameof(BackwardCases))]
    public void Conv2d_input_gradient_matches_the_cpu_backend(string device, int geometry, int variant)
    {
        Assert.Equal(0, variant);
        Conv2d_input_gradient_matches(Devices.Get(device).Kernels, device, geometry);
    }

    private static void Conv2d_input_gradient_matches(GpuKernels kernels, string device, int geometry)
    {
        var d = Devices.Get(device);
        var g = s_geometries[geometry];
        var weight = Reference.Random(g.OutChannels * (g.InChannels / g.Groups) * g.KernelHeight * g.KernelWidth, 5);
        var dy = Reference.Random(g.Batch * g.OutChannels * g.OutHeight * g.OutWidth, 6);
        var expected = new float[g.Batch * g.InChannels * g.InHeight * g.InWidth];
        Devices.Cpu.Conv2dBackwardData(g, weight, dy, expected);

        // The output starts as garbage: the kernel must overwrite it.
        var actual = d.Run(Reference.Random(expected.Length, 7), (x, y) => kernels.Conv2dBackwardData(g, x[0], x[1], y), weight, dy);

        Reference.AssertClose(expected, actual);
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void Conv2d_names_the_buffer_that_does_not_fit(string device)
    {
        var d = Devices.Get(device);
        var g = s_geometries[0];
        var error = Assert.Throws<ArgumentException>(() => d.Run(new float[10], (x, y) =>
            d.Kernels.Conv2d(g, x[0], x[1], default, y, FusedActivation.None), new float[g.Batch * g.InChannels * g.InHeight * g.InWidth], new float[3]));
        Assert.Contains("weight", error.Message, StringComparison.Ordinal);
    }
}
