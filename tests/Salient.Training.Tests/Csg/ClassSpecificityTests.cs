using Salient.Training.Csg;

namespace Salient.Training.Tests.Csg;

public sealed class ClassSpecificityTests
{
    // C = 3 classes × K = 4 filters. Filter 3 carries no information at all.
    private static readonly double[,] Information =
    {
        { 0.6, 0.1, 0.2, 0.0 },
        { 0.2, 0.1, 0.2, 0.0 },
        { 0.2, 0.4, 0.2, 0.0 },
    };

    // K = 4 filters × C = 3 classes.
    private static readonly double[,] Gate =
    {
        { 1.0, 0.0, 0.1 },   // one-hot, class 0
        { 0.2, 0.4, 1.0 },   // second 0.4 < 0.5: one-hot, class 2
        { 1.0, 0.5, 0.0 },   // second exactly 0.5: not one-hot
        { 0.7, 0.7, 0.7 },   // ties: class 0, not one-hot
    };

    [Fact]
    public void Mis_is_the_mean_over_filters_of_the_best_class()
    {
        Assert.Equal((0.6 + 0.4 + 0.2 + 0.0) / 4, ClassSpecificity.MutualInformationScore(Information), 15);
    }

    [Fact]
    public void Normalised_mis_divides_each_filter_by_its_l1_norm_and_skips_silent_filters()
    {
        var expected = ((0.6 / 1.0) + (0.4 / 0.6) + (0.2 / 0.6) + 0) / 4;
        Assert.Equal(expected, ClassSpecificity.NormalizedMutualInformationScore(Information), 15);
    }

    [Fact]
    public void Gate_density_is_the_mean_gate()
    {
        Assert.Equal((1.1 + 1.6 + 1.5 + 2.1) / 12, ClassSpecificity.GateDensity(Gate), 15);
        Assert.Equal(1.0 / 3, ClassSpecificity.GateDensity(new double[,] { { 1, 0, 0 }, { 0, 0, 1 } }), 15);
    }

    [Fact]
    public void One_hot_fraction_counts_filters_whose_second_gate_is_below_one_half()
    {
        Assert.Equal(0.5, ClassSpecificity.OneHotFraction(Gate));
        Assert.Equal(1.0, ClassSpecificity.OneHotFraction(new double[,] { { 0, 1 }, { 1, 0.49 } }));
    }

    [Fact]
    public void Analysis_reports_each_filters_gate_class_next_to_its_informative_class()
    {
        var analysis = CsgAnalysis.FromMatrices(Information, Gate);

        Assert.Equal(ClassSpecificity.MutualInformationScore(Information), analysis.MutualInformationScore);
        Assert.Equal(ClassSpecificity.NormalizedMutualInformationScore(Information), analysis.NormalizedMutualInformationScore);
        Assert.Equal(ClassSpecificity.GateDensity(Gate), analysis.GateDensity);
        Assert.Equal(0.5, analysis.OneHotFraction);
        Assert.Equal(
            [
                new FilterClass(0, 0, 1.0, 0, 0.6),
                new FilterClass(1, 2, 1.0, 2, 0.4),
                new FilterClass(2, 0, 1.0, 0, 0.2),
                new FilterClass(3, 0, 0.7, 0, 0.0),
            ],
            analysis.Filters);
        Assert.Same(Information, analysis.InformationMatrix);
    }

    [Fact]
    public void Analysis_without_a_gate_leaves_the_gate_measures_empty()
    {
        var analysis = CsgAnalysis.FromMatrices(Information);

        Assert.Null(analysis.GateDensity);
        Assert.Null(analysis.OneHotFraction);
        Assert.All(analysis.Filters, row => Assert.Null(row.GateClass));
    }

    [Fact]
    public void Analysis_from_features_is_one_vs_rest_mutual_information()
    {
        var random = new Random(3);
        const int n = 300, filters = 4, classes = 3;
        var labels = Enumerable.Range(0, n).Select(_ => random.Next(classes)).ToArray();
        var features = new float[n * filters];
        for (var i = 0; i < n; i++)
        {
            for (var k = 0; k < filters; k++)
            {
                // Filter k fires for class k (filter 3 for none), post-ReLU: half the values exactly zero.
                var value = (random.NextDouble() < 0.5 ? 0 : random.NextDouble()) + (labels[i] == k ? 1 : 0);
                features[(i * filters) + k] = (float)value;
            }
        }

        var analysis = CsgAnalysis.FromFeatures(features, filters, labels, classes);

        Assert.Equal(MutualInformation.OneVsRest(features, filters, labels, classes), analysis.InformationMatrix);
        Assert.Equal([0, 1, 2], analysis.Filters.Take(3).Select(row => row.InformativeClass));
        Assert.True(analysis.Filters[3].MutualInformation < 0.05);
    }

    [Fact]
    public void Invalid_matrices_are_rejected_naming_the_problem()
    {
        Assert.Contains("must be 4×3", Assert.Throws<ArgumentException>(() => CsgAnalysis.FromMatrices(Information, new double[3, 4])).Message, StringComparison.Ordinal);
        Assert.Contains("[0, 1]", Assert.Throws<ArgumentException>(() => ClassSpecificity.GateDensity(new double[,] { { 1.5 } })).Message, StringComparison.Ordinal);
        Assert.Contains("[0, 1]", Assert.Throws<ArgumentException>(() => ClassSpecificity.GateDensity(new double[,] { { double.NaN } })).Message, StringComparison.Ordinal);
        Assert.Contains("non-negative", Assert.Throws<ArgumentException>(() => ClassSpecificity.MutualInformationScore(new double[,] { { -0.1 } })).Message, StringComparison.Ordinal);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => ClassSpecificity.MutualInformationScore(new double[0, 3])).Message, StringComparison.Ordinal);
        Assert.Contains("two classes", Assert.Throws<ArgumentException>(() => ClassSpecificity.OneHotFraction(new double[,] { { 1 } })).Message, StringComparison.Ordinal);
    }
}
