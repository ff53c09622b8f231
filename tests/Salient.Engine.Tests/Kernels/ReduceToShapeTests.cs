namespace Salient.Engine.Tests.Kernels;

public class ReduceToShapeTests
{
    public static readonly TheoryData<int[], int[]> Shapes = new()
    {
        { [2, 3, 4, 5], [2, 3, 4, 5] },
        { [2, 3, 4, 5], [] },
        { [2, 3, 4, 5], [1] },
        { [2, 3, 4, 5], [5] },
        { [2, 3, 4, 5], [4, 1] },
        { [2, 3, 4, 5], [3, 1, 1] },
        { [2, 3, 4, 5], [1, 3, 1, 1] },
        { [2, 3, 4, 5], [2, 1, 4, 1] },
        { [2, 3, 4, 5], [1, 3, 4, 5] },
        { [2, 3, 4, 5], [2, 3, 4, 1] },
        { [2, 3, 4, 5], [1, 1, 1, 1] },
        { [3, 1, 7], [1, 7] },
        { [7], [] },
        { [], [] },
        { [8, 64, 14, 14], [64, 1, 1] }, // a convolution's bias, big enough for the parallel paths
        { [4, 16, 300], [300] },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Sums_over_the_broadcast_axes(int[] inShape, int[] outShape)
    {
        var input = Reference.Random(inShape.Aggregate(1, (a, b) => a * b), 3);
        var expected = Naive(input, inShape, outShape);
        var output = Enumerable.Repeat(float.NaN, expected.Length).ToArray();

        Backends.Get("managed").ReduceToShape(input, inShape, output, outShape);

        Reference.AssertClose(expected, output, 1e-5f);
    }

    // Each input element maps to the output element with the same trailing indices, 0 on extent-1 axes.
    private static float[] Naive(float[] input, int[] inShape, int[] outShape)
    {
        var sums = new double[outShape.Aggregate(1, (a, b) => a * b)];
        var offset = inShape.Length - outShape.Length;
        for (var i = 0; i < input.Length; i++)
        {
            var rest = i;
            var target = 0;
            for (int d = inShape.Length - 1, stride = 1; d >= offset; d--)
            {
                var index = rest % inShape[d];
                rest /= inShape[d];
                var extent = outShape[d - offset];
                target += (extent == 1 ? 0 : index) * stride;
                stride *= extent;
            }

            sums[target] += input[i];
        }

        return [.. sums.Select(v => (float)v)];
    }

    [Theory]
    [InlineData(new[] { 2, 3 }, new[] { 2 })]
    [InlineData(new[] { 3 }, new[] { 2, 3 })]
    public void Shapes_that_do_not_broadcast_are_rejected(int[] inShape, int[] outShape)
    {
        var output = new float[outShape.Aggregate(1, (a, b) => a * b)];
        Assert.Throws<ArgumentException>(() => Backends.Get("managed").ReduceToShape(new float[inShape.Aggregate(1, (a, b) => a * b)], inShape, output, outShape));
    }
}
