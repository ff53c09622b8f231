using Salient.Engine.Kernels;
using Salient.Engine.Tests.Kernels;

namespace Salient.Engine.Cuda.Tests;

/// <summary>The explanation methods' arithmetic (IKernelBackend's "Method arithmetic" block) on the device against the CPU backend.</summary>
public class MethodArithmeticTests
{
    // More positions than a group has threads, so every thread strides; a few channels.
    private const int Channels = 5;
    private const int Plane = 300;

    public static readonly TheoryData<string, int> WeightingCases = Devices.Cases(Enum.GetValues<ChannelWeighting>().Length);

    public static readonly TheoryData<string, int> ProductCases = Devices.Cases(Enum.GetValues<ChannelProduct>().Length);

    // Activations as after a ReLU (zeros included), gradients of both signs.
    private static (float[] Activations, float[] Gradients) Planes(int seed) =>
        ([.. Reference.Random(Channels * Plane, seed).Select(v => Math.Max(v, 0f))], Reference.Random(Channels * Plane, seed + 1));

    [SkippableTheory]
    [MemberData(nameof(WeightingCases))]
    public void Channel_weights_match_the_cpu_backend(string device, int index)
    {
        var d = Devices.Get(device);
        var weighting = (ChannelWeighting)index;
        var (a, g) = Planes(1);
        var expected = new float[Channels];
        Devices.Cpu.ChannelWeights(weighting, Channels, Plane, a, g, expected);

        Reference.AssertClose(expected, d.Run(new float[Channels], (v, o) => d.Kernels.ChannelWeights(weighting, Channels, Plane, v[0], v[1], o), a, g));
    }

    [SkippableTheory]
    [MemberData(nameof(ProductCases))]
    public void Channel_product_sums_match_the_cpu_backend(string device, int index)
    {
        var d = Devices.Get(device);
        var product = (ChannelProduct)index;
        var (a, g) = Planes(3);
        var expected = new float[Plane];
        Devices.Cpu.ChannelProductSum(product, Channels, Plane, a, g, expected);

        Reference.AssertClose(expected, d.Run(new float[Plane], (v, o) => d.Kernels.ChannelProductSum(product, Channels, Plane, v[0], v[1], o), a, g));
    }

    // The order statistics are selected exactly and interpolated as on the host, so the results are equal, not close:
    // four segments: one of random values, one with ties (values on a coarse grid), one with a single positive value, one with none.
    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void Truncation_at_a_quantile_of_the_positive_values_equals_the_cpu_backend(string device)
    {
        var d = Devices.Get(device);
        const int length = 700;
        var values = Reference.Random(length * 4, 5);
        for (var i = length; i < 2 * length; i++)
        {
            values[i] = MathF.Round(values[i] * 4f) / 4f;
        }

        for (var i = 2 * length; i < 4 * length; i++)
        {
            values[i] = -Math.Abs(values[i]) - 0.5f;
        }

        values[(2 * length) + 17] = 0.25f;
        foreach (var truncation in Enum.GetValues<QuantileTruncation>())
        {
            foreach (var quantile in new[] { 0f, 0.7f, 1f })
            {
                var expected = (float[])values.Clone();
                Devices.Cpu.TruncatePositives(truncation, quantile, 4, expected);
                Assert.Equal(expected, d.Run((float[])values.Clone(), (_, o) => d.Kernels.TruncatePositives(truncation, quantile, 4, o)));
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void A_pattern_added_at_a_scale_per_row_and_signs_times_a_map_equal_the_cpu_backend(string device)
    {
        var d = Devices.Get(device);
        var pattern = Reference.Random(Plane, 7);
        float[] scales = [0.5f, 0f, -2f];
        var target = Reference.Random(Plane * scales.Length, 8);
        var expected = (float[])target.Clone();
        Devices.Cpu.AddScaled(pattern, scales, expected);
        Reference.AssertClose(expected, d.Run((float[])target.Clone(), (v, o) => d.Kernels.AddScaled(v[0], v[1], o), pattern, scales));

        // Two images of five channels, zeros among the signs.
        var x = Reference.Random(2 * Channels * Plane, 9).Select((v, i) => i % 13 == 0 ? 0f : v).ToArray();
        var map = Reference.Random(2 * Plane, 10);
        var signed = new float[x.Length];
        Devices.Cpu.SignTimes(2, Channels, Plane, x, map, signed);
        Assert.Equal(signed, d.Run(new float[x.Length], (v, o) => d.Kernels.SignTimes(2, Channels, Plane, v[0], v[1], o), x, map));
    }

    // The same function of (seed, stream, index) on every device: bitwise on the CPU accelerator, which runs the kernel's
    // .NET code; on a GPU ILGPU emits the fast lg2, sin and cos (sine's absolute error about 5e-7 on (−π, π), times a
    // radius below 5.8 and the deviation), hence 1e-5 there. High words of seed and stream set, and a length that ends
    // in a partial block of four.
    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void Normal_patterns_equal_the_cpu_backend(string device)
    {
        var d = Devices.Get(device);
        const ulong seed = 0x5_0000_0011, stream = 0x3_0000_0002;
        var expected = new float[(Channels * Plane) + 3];
        Devices.Cpu.FillNormal(seed, stream, -0.25f, 1.5f, expected);
        var actual = d.Run(new float[expected.Length], (_, o) => d.Kernels.FillNormal(seed, stream, -0.25f, 1.5f, o));
        if (d.Device.IsCuda)
        {
            Reference.AssertClose(expected, actual, 1e-5f);
        }
        else
        {
            Assert.Equal(expected, actual);
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void The_sign_split_linear_backward_matches_the_cpu_backend(string device)
    {
        var d = Devices.Get(device);
        const int rows = 3, inputs = 40, outputs = 7;
        var x = Reference.Random(rows * inputs, 11).Select(v => Math.Abs(v)).ToArray();
        var weights = Reference.Random(inputs * outputs, 12);
        // Some outputs without gradient, whose β is never used.
        var gradient = Reference.Random(rows * outputs, 13).Select((v, i) => i % 3 == 0 ? 0f : v).ToArray();
        foreach (var transposed in new[] { false, true })
        {
            var expected = new float[x.Length];
            Devices.Cpu.SignSplitLinearBackward(rows, inputs, outputs, transposed, 0.5f, x, weights, gradient, expected);
            Reference.AssertClose(expected, d.Run(new float[x.Length], (v, o) => d.Kernels.SignSplitLinearBackward(rows, inputs, outputs, transposed, 0.5f, v[0], v[1], v[2], o),
                x, weights, gradient));
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void Copies_spliced_by_rank_equal_the_cpu_backend(string device)
    {
        var d = Devices.Get(device);
        var source = Reference.Random(Channels * Plane, 14);
        var replacement = Reference.Random(Channels * Plane, 15);
        var ranks = Enumerable.Range(0, Plane).Select(p => (float)((p * 7) % Plane)).ToArray();
        float[] limits = [0, 1, 150, 300];
        var expected = new float[limits.Length * Channels * Plane];
        Devices.Cpu.SpliceByRank(Channels, Plane, source, replacement, ranks, limits, expected);
        Assert.Equal(expected, d.Run(new float[expected.Length], (v, o) => d.Kernels.SpliceByRank(Channels, Plane, v[0], v[1], v[2], v[3], o), source, replacement, ranks, limits));
    }
}
