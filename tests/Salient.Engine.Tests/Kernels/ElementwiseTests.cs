using Salient.Engine.Kernels;

namespace Salient.Engine.Tests.Kernels;

public class ElementwiseTests
{
    public static readonly TheoryData<int, float, float> Activations = new()
    {
        { (int)ActivationKind.None, 0f, 0f },
        { (int)ActivationKind.Relu, 0f, 0f },
        { (int)ActivationKind.LeakyRelu, 0.2f, 0f },
        { (int)ActivationKind.Clip, -1f, 2.5f },
        { (int)ActivationKind.Sigmoid, 0f, 0f },
        { (int)ActivationKind.HardSigmoid, 0.2f, 0.5f },
        { (int)ActivationKind.HardSwish, 0f, 0f },
    };

    [Theory]
    [MemberData(nameof(Activations))]
    public void Activate_matches_reference_out_of_place_and_in_place(int kind, float alpha, float beta)
    {
        var act = new FusedActivation((ActivationKind)kind, alpha, beta);
        var backend = Backends.Get("managed");

        // An odd length for the vector tails, and one long enough to be split across threads.
        foreach (var length in new[] { 37, 40_001 })
        {
            var input = Reference.Random(length, 7).Select(x => x * 8f).ToArray();
            var expected = input.Select(x => Reference.Activate(act, x)).ToArray();
            var output = new float[input.Length];

            backend.Activate(act, input, output);
            Reference.AssertClose(expected, output, 1e-5f);

            backend.Activate(act, input, input);
            Reference.AssertClose(expected, input, 1e-5f);
        }
    }

    [Theory]
    [MemberData(nameof(Activations))]
    public void ChannelAffine_scales_shifts_and_activates(int kind, float alpha, float beta)
    {
        var act = new FusedActivation((ActivationKind)kind, alpha, beta);
        const int n = 2, channels = 3, spatial = 13;
        var input = Reference.Random(n * channels * spatial, 8);
        var scale = Reference.Random(channels, 9);
        var shift = Reference.Random(channels, 10);
        var expected = input.Select((x, i) => Reference.Activate(act, (x * scale[i / spatial % channels]) + shift[i / spatial % channels])).ToArray();
        var output = new float[input.Length];

        Backends.Get("managed").ChannelAffine(n, channels, spatial, input, scale, shift, output, act);

        Reference.AssertClose(expected, output, 1e-5f);
    }

    public static readonly TheoryData<int[], int[]> BroadcastShapes = new()
    {
        { [2, 3, 4, 5], [2, 3, 4, 5] },
        { [2, 3, 4, 5], [1] },
        { [], [3, 7] },
        { [2, 3, 4, 5], [1, 3, 1, 1] },
        { [1, 3, 1, 1], [2, 3, 4, 5] },
        { [2, 3, 4, 5], [3, 1, 1] },
        { [2, 1, 4], [3, 1] },
        { [4, 1], [1, 5] },
        { [2, 3, 4, 5], [2, 3, 4, 1] },
        { [1, 1, 1], [1] },
        { [3, 0, 2], [1, 2] },
        { [300, 257], [257] },
        { [9000, 3], [9000, 1] },
    };

    [Theory]
    [MemberData(nameof(BroadcastShapes))]
    public void Binary_broadcasts_like_numpy(int[] aShape, int[] bShape)
    {
        var rank = Math.Max(aShape.Length, bShape.Length);
        var outShape = new int[rank];
        for (var d = 0; d < rank; d++)
        {
            var da = d - rank + aShape.Length >= 0 ? aShape[d - rank + aShape.Length] : 1;
            var db = d - rank + bShape.Length >= 0 ? bShape[d - rank + bShape.Length] : 1;
            outShape[d] = da == 1 ? db : da;
        }

        var a = Reference.Random(aShape.Aggregate(1, (x, y) => x * y), 11);
        var b = Reference.Random(bShape.Aggregate(1, (x, y) => x * y), 12).Select(x => x + 2f).ToArray();
        var length = outShape.Aggregate(1, (x, y) => x * y);
        var backend = Backends.Get("managed");
        foreach (var op in new[] { BinaryOp.Add, BinaryOp.Sub, BinaryOp.Mul, BinaryOp.Div })
        {
            var expected = new float[length];
            for (var i = 0; i < length; i++)
            {
                var x = a[SourceIndex(i, outShape, aShape)];
                var y = b[SourceIndex(i, outShape, bShape)];
                expected[i] = op switch { BinaryOp.Add => x + y, BinaryOp.Sub => x - y, BinaryOp.Mul => x * y, _ => x / y };
            }

            var output = new float[length];
            backend.Binary(op, a, aShape, b, bShape, output, outShape);
            Reference.AssertClose(expected, output, 1e-6f);
        }
    }

    [Fact]
    public void Binary_rejects_incompatible_shapes() =>
        Assert.Throws<ArgumentException>(() => Backends.Get("managed").Binary(BinaryOp.Add, new float[6], [2, 3], new float[2], [2], new float[6], [2, 3]));

    // The flat index into an operand of the element at output index i, broadcasting size-1 dimensions.
    private static int SourceIndex(int i, int[] outShape, int[] shape)
    {
        int index = 0, stride = 1;
        for (var d = outShape.Length - 1; d >= 0; d--)
        {
            var coord = i % outShape[d];
            i /= outShape[d];
            var sd = d - outShape.Length + shape.Length;
            if (sd >= 0 && shape[sd] != 1)
            {
                index += coord * stride;
            }

            if (sd >= 0)
            {
                stride *= shape[sd];
            }
        }

        return index;
    }

    [Fact]
    public void Softmax_is_stable_for_large_logits()
    {
        const int rows = 3, cols = 17;
        var input = Reference.Random(rows * cols, 13).Select((x, i) => (x * 10f) + (i < cols ? 1000f : 0f)).ToArray();
        var expected = new float[input.Length];
        for (var r = 0; r < rows; r++)
        {
            var row = input.Skip(r * cols).Take(cols).Select(x => (double)x).ToArray();
            var max = row.Max();
            var sum = row.Sum(x => Math.Exp(x - max));
            for (var j = 0; j < cols; j++)
            {
                expected[(r * cols) + j] = (float)(Math.Exp(row[j] - max) / sum);
            }
        }

        var output = new float[input.Length];
        Backends.Get("managed").Softmax(rows, cols, input, output);

        Reference.AssertClose(expected, output, 1e-5f);
    }
}
