using System.Text.Json;
using Salient.Training.Csg;
using Salient.Training.Csg.Internal;

namespace Salient.Training.Tests.Csg;

public sealed class MutualInformationTests
{
    private static readonly Lazy<JsonElement[]> Cases = new(() =>
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("csg", "mis_cases.json")));
        return [.. document.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone())];
    });

    public static TheoryData<string> CaseNames => [.. Cases.Value.Select(c => c.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Matches_scikit_learn_mutual_info_classif_exactly(string name)
    {
        var fixture = Cases.Value.Single(c => c.GetProperty("name").GetString() == name);
        var featureCount = fixture.GetProperty("features").GetInt32();
        var x = fixture.GetProperty("x").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        var y = fixture.GetProperty("y").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var isFloat32 = fixture.GetProperty("dtype").GetString() == "float32";
        var floats = x.Select(v => (float)v).ToArray();

        double[][] expected, actual;
        if (fixture.GetProperty("kind").GetString() == "classif")
        {
            expected = [fixture.GetProperty("expected").EnumerateArray().Select(v => v.GetDouble()).ToArray()];
            actual = [isFloat32 ? MutualInformation.Classif(floats, featureCount, y) : MutualInformation.Classif(x, featureCount, y)];
        }
        else
        {
            var classes = fixture.GetProperty("classes").GetInt32();
            expected = [.. fixture.GetProperty("expected").EnumerateArray().Select(row => row.EnumerateArray().Select(v => v.GetDouble()).ToArray())];
            var matrix = isFloat32
                ? MutualInformation.OneVsRest(floats, featureCount, y, classes)
                : MutualInformation.OneVsRest(x, featureCount, y, classes);
            actual = [.. Enumerable.Range(0, classes).Select(c => Enumerable.Range(0, featureCount).Select(k => matrix[c, k]).ToArray())];
        }

        // Same jitter, radii, neighbour counts and summation order as scikit-learn: equal to the last bit.
        for (var row = 0; row < expected.Length; row++)
        {
            Assert.Equal(expected[row], actual[row]);
        }
    }

    [Fact]
    public void Independent_noise_has_near_zero_information_and_a_copied_label_has_a_lot()
    {
        var random = new Random(11);
        const int n = 500;
        var labels = Enumerable.Range(0, n).Select(_ => random.Next(2)).ToArray();
        var features = new double[n * 2];
        for (var i = 0; i < n; i++)
        {
            features[2 * i] = random.NextDouble();
            features[(2 * i) + 1] = labels[i] + (0.01 * random.NextDouble());
        }

        var mi = MutualInformation.Classif(features, 2, labels);

        Assert.InRange(mi[0], 0, 0.05);
        Assert.InRange(mi[1], Math.Log(2) - 0.05, Math.Log(2) + 0.05);
    }

    [Fact]
    public void Legacy_normal_source_reproduces_numpy_random_state_0()
    {
        // np.random.RandomState(0).standard_normal(5)
        double[] numpy = [1.764052345967664, 0.4001572083672233, 0.9787379841057392, 2.240893199201458, 1.8675579901499675];
        var source = new LegacyNormalSource(0);

        Assert.Equal(numpy, numpy.Select(_ => source.NextStandardNormal()));
    }

    [Theory]
    // Exact values (harmonic numbers minus γ, −γ − 2 ln 2), then SciPy's digamma.
    [InlineData(1, -0.57721566490153286061)]
    [InlineData(2, 0.42278433509846713939)]
    [InlineData(3, 0.92278433509846713939)]
    [InlineData(10, 2.2517525890667211076)]
    [InlineData(11, 2.3517525890667211076)]
    [InlineData(0.5, -1.9635100260214234794)]
    [InlineData(100, 4.600161852738088)]
    [InlineData(1000, 6.907255195648812)]
    [InlineData(7.25, 1.9104535268837362)]
    [InlineData(1e6, 13.81551005796419)]
    public void Digamma_matches_reference_values(double x, double expected)
    {
        Assert.Equal(expected, Digamma.Of(x), 1e-14 * Math.Max(1, Math.Abs(expected)));
    }

    [Fact]
    public void Digamma_satisfies_the_recurrence()
    {
        for (var x = 0.1; x < 40; x += 0.37)
        {
            Assert.Equal(Digamma.Of(x) + (1 / x), Digamma.Of(x + 1), 1e-13 * Math.Max(1, Math.Abs(Digamma.Of(x + 1))));
        }
    }

    [Fact]
    public void Numpy_sum_order_is_pairwise_within_buffers()
    {
        // 1 then eight times 1e-16 (np.sum gives 1.0000000000000007): added one by one each tiny term
        // is lost against 1; NumPy's eight interleaved lanes add them to each other first.
        var values = new double[16];
        values[0] = 1;
        for (var i = 8; i < 16; i++)
        {
            values[i] = 1e-16;
        }

        Assert.Equal(1.0000000000000007, NumpySum.Of<double>(values));
        Assert.Equal(5050.0, NumpySum.Of<double>([.. Enumerable.Range(1, 100).Select(i => (double)i)]));
        Assert.Equal(20000.0 * 20001 / 2, NumpySum.Of<double>([.. Enumerable.Range(1, 20000).Select(i => (double)i)]));
    }

    [Fact]
    public void Mismatched_sizes_are_rejected_naming_the_shapes()
    {
        var e = Assert.Throws<ArgumentException>(() => MutualInformation.Classif(new double[10], 3, [0, 1, 0]));
        Assert.Contains("10 feature values", e.Message, StringComparison.Ordinal);
        Assert.Contains("3 samples", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_finite_features_are_rejected_naming_sample_and_feature()
    {
        var features = new double[12];
        features[7] = double.NaN;
        var e = Assert.Throws<ArgumentException>(() => MutualInformation.OneVsRest(features, 3, [0, 1, 0, 1], 2));
        Assert.Contains("Feature 1 of sample 2 is NaN", e.Message, StringComparison.Ordinal);

        var floats = new float[12];
        floats[0] = float.PositiveInfinity;
        Assert.Throws<ArgumentException>(() => MutualInformation.Classif(floats, 3, [0, 1, 0, 1]));
    }

    [Fact]
    public void Labels_outside_the_classes_and_bad_parameters_are_rejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => MutualInformation.OneVsRest(new double[4], 1, [0, 1, 2, 1], 2));
        Assert.Contains("Label 2 is 2", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => MutualInformation.Classif(new double[4], 1, [0, 1, 0, 1], neighbors: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => MutualInformation.Classif(new double[4], 0, [0, 1, 0, 1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => MutualInformation.Classif(new double[4], 1, [0, 1, 0, 1], randomState: -1));
    }

    [Fact]
    public void Labels_that_are_all_distinct_leave_nothing_to_estimate()
    {
        var e = Assert.Throws<ArgumentException>(() => MutualInformation.Classif(new double[] { 1, 2, 3 }, 1, [0, 1, 2]));
        Assert.Contains("two samples that share a label", e.Message, StringComparison.Ordinal);
    }
}
