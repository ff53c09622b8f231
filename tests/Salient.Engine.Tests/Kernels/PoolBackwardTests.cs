using Salient.Engine.Kernels;

namespace Salient.Engine.Tests.Kernels;

public class PoolBackwardTests
{
    public static readonly TheoryData<int, bool> Cases = Build();

    private static TheoryData<int, bool> Build()
    {
        var data = new TheoryData<int, bool>();
        for (var i = 0; i < PoolTests.Geometries.Length; i++)
        {
            data.Add(i, false);
            data.Add(i, true);
        }

        return data;
    }

    /// <summary>
    /// PyTorch's rule: the window's taps in row-major order, the first tap inside the input taken
    /// first, then a later one only when strictly greater; padding is never a candidate.
    /// </summary>
    private static float[] MaxPoolBackward(Pool2dGeometry g, float[] input, float[] outputGradient)
    {
        var dx = new double[input.Length];
        int oh = g.OutHeight, ow = g.OutWidth, inPlane = g.InHeight * g.InWidth;
        for (var p = 0; p < g.Batch * g.Channels; p++)
        {
            for (var y = 0; y < oh; y++)
            {
                for (var x = 0; x < ow; x++)
                {
                    var best = -1;
                    for (var ki = 0; ki < g.KernelHeight; ki++)
                    {
                        for (var kj = 0; kj < g.KernelWidth; kj++)
                        {
                            var ih = (y * g.StrideHeight) - g.PadTop + (ki * g.DilationHeight);
                            var iw = (x * g.StrideWidth) - g.PadLeft + (kj * g.DilationWidth);
                            var i = (p * inPlane) + (ih * g.InWidth) + iw;
                            if (ih >= 0 && ih < g.InHeight && iw >= 0 && iw < g.InWidth && (best < 0 || input[i] > input[best]))
                            {
                                best = i;
                            }
                        }
                    }

                    dx[best] += outputGradient[(p * oh * ow) + (y * ow) + x];
                }
            }
        }

        return [.. dx.Select(v => (float)v)];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Max_pool_gradient_goes_to_the_first_maximum(int index, bool ties)
    {
        var g = PoolTests.Geometry(index);
        var input = Reference.Random(g.Batch * g.Channels * g.InHeight * g.InWidth, 70 + index);
        if (ties)
        {
            // Five distinct values, so most windows hold several maxima.
            input = [.. input.Select(v => MathF.Round(v * 2f) / 2f)];
        }

        var dy = Reference.Random(g.Batch * g.Channels * g.OutHeight * g.OutWidth, 80 + index);
        var dx = Enumerable.Repeat(float.NaN, input.Length).ToArray();

        Backends.Get("managed").MaxPool2dBackward(g, input, Forward(g, input), dy, dx);

        Reference.AssertClose(MaxPoolBackward(g, input, dy), dx, 1e-6f);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Max_pool_tangent_reads_where_the_gradient_goes(int index, bool ties)
    {
        // The tangent is the adjoint of the gradient: each output reads the input tangent at the tap
        // its gradient goes to, ties included: ⟨dy, J·t⟩ = ⟨Jᵀ·dy, t⟩ for one-hot dy, i.e. elementwise.
        var g = PoolTests.Geometry(index);
        var input = Reference.Random(g.Batch * g.Channels * g.InHeight * g.InWidth, 70 + index);
        if (ties)
        {
            input = [.. input.Select(v => MathF.Round(v * 2f) / 2f)];
        }

        var backend = Backends.Get("managed");
        var output = Forward(g, input);
        var t = Reference.Random(input.Length, 90 + index);
        var tangent = Enumerable.Repeat(float.NaN, output.Length).ToArray();
        backend.MaxPool2dTangent(g, input, output, t, tangent);

        var dx = new float[input.Length];
        for (var o = 0; o < output.Length; o++)
        {
            var oneHot = new float[output.Length];
            oneHot[o] = 1f;
            backend.MaxPool2dBackward(g, input, output, oneHot, dx);
            var expected = 0.0;
            for (var i = 0; i < dx.Length; i++)
            {
                expected += dx[i] * (double)t[i];
            }

            Assert.Equal(expected, tangent[o], 6);
        }
    }

    [Fact]
    public void Max_pool_gradient_of_a_window_of_negative_infinities_goes_to_its_first_tap()
    {
        // A padded window whose inside taps are all -inf: the first one inside wins, never the padding.
        var g = new Pool2dGeometry(1, 1, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, false);
        float[] input = [float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity];
        float[] dy = [1f, 2f, 4f, 8f];
        var dx = new float[4];

        Backends.Get("managed").MaxPool2dBackward(g, input, Forward(g, input), dy, dx);

        Assert.Equal([15f, 0f, 0f, 0f], dx);
    }

    [Fact]
    public void Max_pool_gradient_goes_to_the_last_nan_of_a_window_as_in_pytorch()
    {
        var g = new Pool2dGeometry(1, 1, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, false);
        float[] input = [float.NaN, 3f, float.NaN, 1f];
        var dx = new float[4];

        Backends.Get("managed").MaxPool2dBackward(g, input, Forward(g, input), new[] { 5f }, dx);

        Assert.Equal([0f, 0f, 5f, 0f], dx);
    }

    [Fact]
    public void Max_pool_gradient_refuses_an_output_that_is_not_the_forwards()
    {
        var g = new Pool2dGeometry(1, 1, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0, 1, 1, false);
        Assert.Throws<ArgumentException>(() => Backends.Get("managed").MaxPool2dBackward(g, new[] { 1f, 2f, 3f, 4f }, new[] { 7f }, new[] { 1f }, new float[4]));
    }

    private static float[] Forward(Pool2dGeometry g, float[] input)
    {
        var output = new float[g.Batch * g.Channels * g.OutHeight * g.OutWidth];
        Backends.Get("managed").MaxPool2d(g, input, output);
        return output;
    }

    [Fact]
    public void Max_pool_gradient_buffer_must_match_the_input()
    {
        var g = new Pool2dGeometry(1, 1, 4, 4, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, false);
        Assert.Throws<ArgumentException>(() => Backends.Get("managed").MaxPool2dBackward(g, new float[16], new float[4], new float[4], new float[8]));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Avg_pool_gradient_is_the_adjoint_of_avg_pool(int index, bool countIncludePad)
    {
        var g = PoolTests.Geometry(index);
        var inputs = g.Batch * g.Channels * g.InHeight * g.InWidth;
        var dy = Reference.Random(g.Batch * g.Channels * g.OutHeight * g.OutWidth, 90 + index);

        // The adjoint column by column: dx[i] = <pool(e_i), dy>, with the forward reference.
        var expected = new float[inputs];
        var basis = new float[inputs];
        for (var i = 0; i < inputs; i++)
        {
            basis[i] = 1f;
            expected[i] = (float)Reference.Dot(Reference.Pool(g, basis, max: false, countIncludePad), dy);
            basis[i] = 0f;
        }

        var dx = Enumerable.Repeat(float.NaN, inputs).ToArray();

        Backends.Get("managed").AvgPool2dBackward(g, countIncludePad, dy, dx);

        Reference.AssertClose(expected, dx, 1e-6f);
    }
}
