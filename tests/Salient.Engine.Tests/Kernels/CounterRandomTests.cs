using Salient.Engine.Kernels;
using Salient.Engine.Kernels.Cpu;

namespace Salient.Engine.Tests.Kernels;

/// <summary>
/// The counter-based generator behind <see cref="IKernelBackend.FillNormal"/>: Philox4x32-10's published
/// known answers, the CPU backend's values as pure functions of (seed, stream, index), and the statistics
/// of the normals (moments, and no correlation between streams, seeds or neighbouring values).
/// </summary>
public sealed class CounterRandomTests
{
    // 2¹⁸ values: a sample mean's standard error is 0.002, a correlation's too.
    private const int Count = 1 << 18;
    private static readonly double StandardError = 1 / Math.Sqrt(Count);

    private static readonly CpuBackend Cpu = new(GemmProvider.Managed);

    /// <summary>The known-answer vectors of the Random123 distribution (counter words, key words, output words).</summary>
    [Theory]
    [InlineData(0u, 0u, 0u, 0u, 0u, 0u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Philox4x32_10_gives_the_published_known_answers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint w0, uint w1, uint w2, uint w3) =>
        Assert.Equal(new PhiloxBlock(w0, w1, w2, w3), CounterRandom.Philox(c0, c1, c2, c3, k0, k1));

    [Fact]
    public void Each_value_depends_only_on_seed_stream_and_index()
    {
        const ulong seed = 0x1_0000_0007, stream = 0x2_0000_0003;
        var whole = Fill(seed, stream, 0.5f, 2f, 10_001);

        // The CPU backend's blocks, split over threads, give each value as the scalar function does, bitwise.
        Assert.Equal(Enumerable.Range(0, whole.Length).Select(i => 0.5f + (2f * CounterRandom.Normal(seed, stream, i))), whole);
        // A shorter pattern is the longer one's prefix, and the same arguments give the same values.
        Assert.Equal(whole[..7], Fill(seed, stream, 0.5f, 2f, 7));
        Assert.Equal(whole, Fill(seed, stream, 0.5f, 2f, whole.Length));
        // Any other seed or stream, the high words included, gives other values.
        Assert.NotEqual(whole[..8], Fill(seed + 1, stream, 0.5f, 2f, 8));
        Assert.NotEqual(whole[..8], Fill(seed ^ (1UL << 40), stream, 0.5f, 2f, 8));
        Assert.NotEqual(whole[..8], Fill(seed, stream ^ (1UL << 40), 0.5f, 2f, 8));
        // Deviation 0 is the mean exactly (DeepLIFT-SHAP without noise is DeepLIFT).
        Assert.All(Fill(seed, stream, 0.25f, 0f, 9), v => Assert.Equal(0.25f, v));
    }

    [Fact]
    public void Normals_have_the_standard_moments()
    {
        var z = Fill(7, 0, 0f, 1f, Count);
        var (mean, variance) = Moments(z);
        Assert.InRange(mean, -5 * StandardError, 5 * StandardError);
        // The sample variance's standard error is √(2/n) for normals.
        Assert.InRange(variance, 1 - (5 * Math.Sqrt(2.0 / Count)), 1 + (5 * Math.Sqrt(2.0 / Count)));
        var skew = z.Average(v => Math.Pow(v - mean, 3)) / Math.Pow(variance, 1.5);
        var kurtosis = z.Average(v => Math.Pow(v - mean, 4)) / (variance * variance);
        Assert.InRange(skew, -5 * Math.Sqrt(6.0 / Count), 5 * Math.Sqrt(6.0 / Count));
        Assert.InRange(kurtosis, 3 - (5 * Math.Sqrt(24.0 / Count)), 3 + (5 * Math.Sqrt(24.0 / Count)));
        // The share within one σ, P(|z| < 1) = 0.6827, with its binomial standard error.
        var within = z.Count(v => Math.Abs(v) < 1) / (double)Count;
        Assert.InRange(within, 0.6827 - (5 * 0.47 * StandardError), 0.6827 + (5 * 0.47 * StandardError));
        Assert.All(z, v => Assert.True(float.IsFinite(v)));

        var (scaledMean, scaledVariance) = Moments(Fill(7, 0, 3f, 0.5f, Count));
        Assert.InRange(scaledMean, 3 - (2.5 * StandardError), 3 + (2.5 * StandardError));
        Assert.InRange(scaledVariance, 0.25 * (1 - (5 * Math.Sqrt(2.0 / Count))), 0.25 * (1 + (5 * Math.Sqrt(2.0 / Count))));
    }

    [Fact]
    public void Streams_seeds_and_neighbouring_values_are_uncorrelated()
    {
        var z = Fill(7, 0, 0f, 1f, Count);
        foreach (var (seed, stream) in new (ulong, ulong)[] { (7, 1), (7, 2), (8, 0), (7, 1UL << 32) })
        {
            var other = Fill(seed, stream, 0f, 1f, Count);
            Assert.InRange(Correlation(z, other), -5 * StandardError, 5 * StandardError);
        }

        // Lags 1 (the Box–Muller pairs' cosine and sine), 2 (the two pairs of a block) and 4 (the next block).
        foreach (var lag in new[] { 1, 2, 4 })
        {
            Assert.InRange(Correlation(z.AsSpan(..^lag), z.AsSpan(lag..)), -5 * StandardError, 5 * StandardError);
        }

        // Squares too: a pair shares its radius, so only independence (not just orthogonality) keeps these at 0.
        var squares = z.Select(v => v * v).ToArray();
        Assert.InRange(Correlation(squares.AsSpan(..^1), squares.AsSpan(1..)), -5 * StandardError, 5 * StandardError);
    }

    [Fact]
    public void Uniforms_lie_strictly_inside_the_unit_interval_with_mean_one_half()
    {
        Assert.Equal(0.5f * (1f / (1 << 23)), CounterRandom.ToUnit(0));
        Assert.Equal(1f - (0.5f * (1f / (1 << 23))), CounterRandom.ToUnit(uint.MaxValue));
        var u = Enumerable.Range(0, 1 << 16).Select(i => (double)CounterRandom.Uniform(3, 1, i)).ToArray();
        Assert.All(u, v => Assert.InRange(v, double.Epsilon, 1 - 1e-9));
        // U(0, 1) has standard deviation 1/√12.
        Assert.InRange(u.Average(), 0.5 - (5 / Math.Sqrt(12.0 * u.Length)), 0.5 + (5 / Math.Sqrt(12.0 * u.Length)));
    }

    private static float[] Fill(ulong seed, ulong stream, float mean, float deviation, int length)
    {
        var values = new float[length];
        Cpu.FillNormal(seed, stream, mean, deviation, values);
        return values;
    }

    private static (double Mean, double Variance) Moments(float[] values)
    {
        var mean = values.Average(v => (double)v);
        return (mean, values.Average(v => (v - mean) * (v - mean)));
    }

    private static double Correlation(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sa += a[i];
            sb += b[i];
            saa += a[i] * (double)a[i];
            sbb += b[i] * (double)b[i];
            sab += a[i] * (double)b[i];
        }

        var n = a.Length;
        return ((sab / n) - (sa / n * (sb / n))) / Math.Sqrt(((saa / n) - (sa / n * (sa / n))) * ((sbb / n) - (sb / n * (sb / n))));
    }
}
