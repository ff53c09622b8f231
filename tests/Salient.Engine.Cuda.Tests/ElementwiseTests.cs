using Salient.Engine.Cuda.Kernels;
using Salient.Engine.Kernels;
using Salient.Engine.Tests.Kernels;

namespace Salient.Engine.Cuda.Tests;

public class ElementwiseTests
{
    private static readonly FusedActivation[] s_activations =
    [
        FusedActivation.None,
        new(ActivationKind.Relu),
        new(ActivationKind.LeakyRelu, 0.01f),
        new(ActivationKind.Clip, 0f, 6f),
        new(ActivationKind.Sigmoid),
        new(ActivationKind.HardSigmoid, 0.2f, 0.5f),
        new(ActivationKind.HardSwish),
    ];

    public static readonly TheoryData<string, int> ActivationCases = Devices.Cases(s_activations.Length);

    // Values spread over the kinks of every activation (−3, 0, 3, 6), and exactly on them.
    private static float[] Spread(int length, int seed) =>
        [.. Reference.Random(length, seed).Select((v, i) => i % 17 == 0 ? (i % 4 * 3f) - 3f : v * 8f)];

    [SkippableTheory]
    [MemberData(nameof(ActivationCases))]
    public void Activations_and_their_gradients_match_the_cpu_backend(string device, int index)
    {
        var d = Devices.Get(device);
        var act = s_activations[index];
        var x = Spread(1000, 1);
        var y = new float[x.Length];
        Devices.Cpu.Activate(act, x, y);
        var dy = Reference.Random(x.Length, 2);
        var dx = new float[x.Length];
        Devices.Cpu.ActivateBackward(act, x, y, dy, dx);

        Reference.AssertClose(y, d.Run(new float[x.Length], (v, o) => d.Kernels.Activate(act, v[0], o), x));
        Reference.AssertClose(dx, d.Run(new float[x.Length], (v, o) => d.Kernels.ActivateBackward(act, v[0], v[1], v[2], o), x, y, dy));
    }

    [SkippableTheory]
    [MemberData(nameof(ActivationCases))]
    public void Guided_and_deconvolution_gradients_follow_the_methods_rules(string device, int index)
    {
        var d = Devices.Get(device);
        var act = s_activations[index];
        var x = Spread(300, 3);
        var y = new float[x.Length];
        Devices.Cpu.Activate(act, x, y);
        var dy = Reference.Random(x.Length, 4);

        // Guided backpropagation: the gradient with the output standing in for the input, then max(·, 0).
        var guided = new float[x.Length];
        Devices.Cpu.ActivateBackward(act, y, y, dy, guided);
        guided = [.. guided.Select(v => Math.Max(v, 0f))];
        // Deconvolution: ReLU and Clip pass relu(dy); other activations their own gradient.
        var deconvolution = new float[x.Length];
        Devices.Cpu.ActivateBackward(act, y, y, dy, deconvolution);
        if (act.Kind is ActivationKind.Relu or ActivationKind.Clip)
        {
            deconvolution = [.. dy.Select(v => Math.Max(v, 0f))];
        }

        Reference.AssertClose(guided, d.Run(new float[x.Length], (v, o) => d.Kernels.ActivateBackward(act, v[0], v[0], v[1], o, ActivationGradientRule.Guided), y, dy));
        Reference.AssertClose(deconvolution, d.Run(new float[x.Length], (v, o) => d.Kernels.ActivateBackward(act, v[0], v[0], v[1], o, ActivationGradientRule.Deconvolution), y, dy));
    }

    // PTX's max.f32 drops NaN; the kernels' clamps and maxima must keep it, as the CPU backend does.
    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void NaN_passes_through_clamps_and_max_pooling_as_on_the_cpu(string device)
    {
        var d = Devices.Get(device);
        float[] x = [float.NaN, -1f, 2f, 7f];
        foreach (var act in new[] { new FusedActivation(ActivationKind.Relu), new FusedActivation(ActivationKind.Clip, 0f, 6f), new FusedActivation(ActivationKind.HardSwish) })
        {
            var expected = new float[x.Length];
            Devices.Cpu.Activate(act, x, expected);
            Assert.Equal(expected, d.Run(new float[x.Length], (v, o) => d.Kernels.Activate(act, v[0], o), x));
        }

        var pool = new Pool2dGeometry(1, 1, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false);
        var pooled = new float[1];
        Devices.Cpu.MaxPool2d(pool, x, pooled);
        Assert.True(float.IsNaN(pooled[0]));
        Assert.Equal(pooled, d.Run(new float[1], (v, o) => d.Kernels.MaxPool2d(pool, v[0], o), x));
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void Channel_affine_matches_the_cpu_backend(string device)
    {
        var d = Devices.Get(device);
        int n = 2, channels = 5, spatial = 13;
        var x = Reference.Random(n * channels * spatial, 1);
        var scale = Reference.Random(channels, 2);
        var shift = Reference.Random(channels, 3);
        var act = new FusedActivation(ActivationKind.HardSwish);
        var expected = new float[x.Length];
        Devices.Cpu.ChannelAffine(n, channels, spatial, x, scale, shift, expected, act);

        Reference.AssertClose(expected, d.Run(new float[x.Length], (v, o) => d.Kernels.ChannelAffine(n, channels, spatial, v[0], v[1], v[2], o, act), x, scale, shift));
    }

    public static readonly TheoryData<string, int> BinaryCases = Devices.Cases(6);

    private static readonly (int[] A, int[] B, int[] Out, BinaryOp Op)[] s_binary =
    [
        ([2, 3, 4, 5], [2, 3, 4, 5], [2, 3, 4, 5], BinaryOp.Add),
        ([1, 3, 1, 1], [2, 3, 4, 5], [2, 3, 4, 5], BinaryOp.Mul),
        ([2, 1, 4, 1], [1, 3, 1, 5], [2, 3, 4, 5], BinaryOp.Sub),
        ([], [3, 7], [3, 7], BinaryOp.Div),
        ([2, 1, 3, 1, 2], [4, 1, 5, 1], [2, 4, 3, 5, 2], BinaryOp.Add),
        ([6, 1], [1], [6, 1], BinaryOp.Div),
    ];

    [SkippableTheory]
    [MemberData(nameof(BinaryCases))]
    public void Broadcasting_binary_ops_match_the_cpu_backend(string device, int index)
    {
        var d = Devices.Get(device);
        var (aShape, bShape, outShape, op) = s_binary[index];
        var a = Reference.Random(aShape.Aggregate(1, (p, e) => p * e), 1);
        var b = Reference.Random(bShape.Aggregate(1, (p, e) => p * e), 2).Select(v => op == BinaryOp.Div ? v + 2f : v).ToArray();
        var outLength = outShape.Aggregate(1, (p, e) => p * e);
        var act = index % 2 == 0 ? new FusedActivation(ActivationKind.Relu) : FusedActivation.None;
        var expected = new float[outLength];
        Devices.Cpu.Binary(op, a, aShape, b, bShape, expected, outShape, act);

        Reference.AssertClose(expected, d.Run(new float[outLength], (v, o) => d.Kernels.Binary(op, v[0], aShape, v[1], bShape, o, outShape, act), a, b));
    }

    public static readonly TheoryData<string, int> ReduceCases = Devices.Cases(5);

    private static readonly (int[] In, int[] Out)[] s_reductions =
    [
        ([2, 3, 4, 5], [1, 3, 1, 1]),
        ([2, 3, 4, 5], [3, 1, 5]),
        ([2, 3, 4, 5], []),
        ([2, 3, 4, 5], [2, 3, 4, 5]),
        ([4, 1, 6, 7], [1, 1, 6, 1]),
    ];

    [SkippableTheory]
    [MemberData(nameof(ReduceCases))]
    public void Reduce_to_shape_matches_the_cpu_backend(string device, int index)
    {
        var d = Devices.Get(device);
        var (inShape, outShape) = s_reductions[index];
        var x = Reference.Random(inShape.Aggregate(1, (p, e) => p * e), 1);
        var expected = new float[outShape.Aggregate(1, (p, e) => p * e)];
        Devices.Cpu.ReduceToShape(x, inShape, expected, outShape);

        Reference.AssertClose(expected, d.Run(new float[expected.Length], (v, o) => d.Kernels.ReduceToShape(v[0], inShape, o, outShape), x));
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void Softmax_matches_the_cpu_backend(string device)
    {
        var d = Devices.Get(device);
        foreach (var (rows, cols) in new[] { (3, 10), (1, 300), (1, 1) })
        {
            var x = Reference.Random(rows * cols, cols).Select(v => v * 20f).ToArray();
            var expected = new float[x.Length];
            Devices.Cpu.Softmax(rows, cols, x, expected);
            Reference.AssertClose(expected, d.Run(new float[x.Length], (v, o) => d.Kernels.Softmax(rows, cols, v[0], o), x));
        }
    }

    public static readonly TheoryData<string, int> ResizeCases = Devices.Cases(8);

    [SkippableTheory]
    [MemberData(nameof(ResizeCases))]
    public void Bilinear_resize_matches_the_cpu_backend(string device, int index)
    {
        var d = Devices.Get(device);
        var (inH, inW, outH, outW) = (index / 2) switch
        {
            0 => (7, 7, 40, 36),
            1 => (13, 9, 5, 4),
            2 => (1, 6, 3, 1),
            _ => (4, 4, 4, 4),
        };
        var alignCorners = index % 2 == 1;
        const int planes = 2;
        var x = Reference.Random(planes * inH * inW, index);
        var expected = new float[planes * outH * outW];
        Devices.Cpu.ResizeBilinear(planes, inH, inW, x, outH, outW, expected, alignCorners);

        Reference.AssertClose(expected, d.Run(new float[expected.Length], (v, o) => d.Kernels.ResizeBilinear(planes, inH, inW, v[0], outH, outW, o, alignCorners), x));
    }
}
