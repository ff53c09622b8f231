using Salient.Engine.Kernels;

namespace Salient.Engine.Tests.Kernels;

public class ActivationBackwardTests
{
    public static readonly TheoryData<int, float, float> Activations = ElementwiseTests.Activations;

    // Where each activation's derivative jumps; finite differences stay clear of them.
    private static double[] Kinks(FusedActivation act) => act.Kind switch
    {
        ActivationKind.Relu or ActivationKind.LeakyRelu => [0],
        ActivationKind.Clip => [act.Alpha, act.Beta],
        ActivationKind.HardSigmoid => [-act.Beta / act.Alpha, (1 - act.Beta) / act.Alpha],
        ActivationKind.HardSwish => [-3, 3],
        _ => [],
    };

    [Theory]
    [MemberData(nameof(Activations))]
    public void Gradient_matches_finite_differences_away_from_the_kinks(int kind, float alpha, float beta)
    {
        var act = new FusedActivation((ActivationKind)kind, alpha, beta);
        var backend = Backends.Get("managed");

        // An odd length for the vector tails, and one long enough to be split across threads.
        foreach (var length in new[] { 37, 40_001 })
        {
            var x = Reference.Random(length, 11).Select(v => v * 6f).Where(v => Kinks(act).All(k => Math.Abs(v - k) > 1e-2)).ToArray();
            var y = new float[x.Length];
            backend.Activate(act, x, y);
            var dy = Reference.Random(x.Length, 12);
            const double h = 1e-5;
            var expected = x.Select((v, i) => (float)(dy[i] * (Reference.Activate(act, v + h) - Reference.Activate(act, v - h)) / (2 * h))).ToArray();
            var dx = Enumerable.Repeat(float.NaN, x.Length).ToArray();

            backend.ActivateBackward(act, x, y, dy, dx);

            Reference.AssertClose(expected, dx, 1e-4f);
        }
    }

    public static readonly TheoryData<int, float, float, float, float> KinkCases = new()
    {
        // Kind, alpha, beta, x, dx/dy.
        { (int)ActivationKind.Relu, 0f, 0f, 0f, 0f },
        { (int)ActivationKind.Relu, 0f, 0f, 1e-30f, 1f },
        { (int)ActivationKind.LeakyRelu, 0.2f, 0f, 0f, 0.2f },
        { (int)ActivationKind.LeakyRelu, 0.2f, 0f, 1e-30f, 1f },
        { (int)ActivationKind.Clip, -1f, 2.5f, -1f, 0f },
        { (int)ActivationKind.Clip, -1f, 2.5f, 2.5f, 0f },
        { (int)ActivationKind.Clip, -1f, 2.5f, -0.999f, 1f },
        { (int)ActivationKind.HardSigmoid, 0.25f, 0.5f, -2f, 0f },
        { (int)ActivationKind.HardSigmoid, 0.25f, 0.5f, 2f, 0f },
        { (int)ActivationKind.HardSigmoid, 0.25f, 0.5f, 1.999f, 0.25f },
        { (int)ActivationKind.HardSwish, 0f, 0f, -3.001f, 0f },
        { (int)ActivationKind.HardSwish, 0f, 0f, -3f, -0.5f },
        { (int)ActivationKind.HardSwish, 0f, 0f, 3f, 1.5f },
        { (int)ActivationKind.HardSwish, 0f, 0f, 3.001f, 1f },
    };

    [Theory]
    [MemberData(nameof(KinkCases))]
    public void Gradient_at_a_kink_follows_pytorch(int kind, float alpha, float beta, float x, float slope)
    {
        var act = new FusedActivation((ActivationKind)kind, alpha, beta);
        var backend = Backends.Get("managed");

        // Long enough for the vector path, with the kink in a vector and in the scalar tail.
        var input = Enumerable.Repeat(x, 19).ToArray();
        var y = new float[input.Length];
        backend.Activate(act, input, y);
        var dy = Enumerable.Repeat(2f, input.Length).ToArray();
        var dx = new float[input.Length];

        backend.ActivateBackward(act, input, y, dy, dx);

        Assert.All(dx, v => Assert.Equal(2f * slope, v, 1e-6f));
    }

    [Fact]
    public void Mismatched_lengths_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => Backends.Get("managed").ActivateBackward(new FusedActivation(ActivationKind.Relu), new float[3], new float[3], new float[3], new float[2]));
    }
}
