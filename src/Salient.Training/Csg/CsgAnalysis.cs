namespace Salient.Training.Csg;

/// <summary>One filter's class: the class its gate opens most and the class it is most informative about.</summary>
/// <param name="Filter">The filter (channel) index k.</param>
/// <param name="GateClass">argmaxₓ G[k, c], or null without a gate.</param>
/// <param name="GateValue">G[k, <paramref name="GateClass"/>], or null without a gate.</param>
/// <param name="InformativeClass">argmaxₓ M[c, k].</param>
/// <param name="MutualInformation">M[k's <paramref name="InformativeClass"/>, k] in nats.</param>
public sealed record FilterClass(int Filter, int? GateClass, double? GateValue, int InformativeClass, double MutualInformation);

/// <summary>
/// The class-specificity report of a CSG (or standard) network's last convolutional layer
/// (spec csg.md §2): raw and normalised MIS, and, when the network has a gate, its density, the
/// fraction of one-hot filters and each filter's gate class next to its most informative class.
/// </summary>
/// <param name="MutualInformationScore">MIS = mean over filters of maxₓ M[c, k] (nats).</param>
/// <param name="NormalizedMutualInformationScore">MIS with each filter's column divided by its L1 norm first.</param>
/// <param name="GateDensity">d(G) = ‖G‖₁/(C·K), or null without a gate.</param>
/// <param name="OneHotFraction">Fraction of filters whose second-largest gate is below 0.5, or null without a gate.</param>
/// <param name="Filters">One row per filter, in filter order.</param>
/// <param name="InformationMatrix">M[c, k] = I(aₖ; 1[y = c]) in nats, C×K.</param>
public sealed record CsgAnalysis(
    double MutualInformationScore,
    double NormalizedMutualInformationScore,
    double? GateDensity,
    double? OneHotFraction,
    IReadOnlyList<FilterClass> Filters,
    double[,] InformationMatrix)
{
    /// <summary>
    /// Analyses features as §2.1 prescribes: one-vs-rest <see cref="MutualInformation.OneVsRest(ReadOnlySpan{float}, int, ReadOnlySpan{int}, int, int, int)"/>
    /// with k = 3 and random state 0, then <see cref="FromMatrices"/>.
    /// </summary>
    /// <param name="features">N×K spatially averaged last-conv activations of the ungated network, row-major.</param>
    /// <param name="featureCount">K, the number of filters.</param>
    /// <param name="labels">N class indices in [0, <paramref name="classCount"/>).</param>
    /// <param name="classCount">C, the number of classes.</param>
    /// <param name="gate">The trained gate G[k, c] (K×C), or null for a network without one.</param>
    /// <exception cref="ArgumentException">The sizes disagree, a value is out of range, or a feature is not finite.</exception>
    public static CsgAnalysis FromFeatures(ReadOnlySpan<float> features, int featureCount, ReadOnlySpan<int> labels, int classCount, double[,]? gate = null) =>
        FromMatrices(MutualInformation.OneVsRest(features, featureCount, labels, classCount), gate);

    /// <summary>Builds the report from a C×K mutual-information matrix and an optional K×C gate.</summary>
    /// <param name="mutualInformation">M[c, k] in nats, C×K.</param>
    /// <param name="gate">G[k, c] ∈ [0, 1], K×C, or null.</param>
    /// <exception cref="ArgumentException">A matrix is empty or out of range, or the gate's shape is not the transpose of the matrix's.</exception>
    public static CsgAnalysis FromMatrices(double[,] mutualInformation, double[,]? gate = null)
    {
        ClassSpecificity.ValidateMutualInformation(mutualInformation);
        var (classes, filters) = (mutualInformation.GetLength(0), mutualInformation.GetLength(1));
        if (gate is not null && (gate.GetLength(0) != filters || gate.GetLength(1) != classes))
        {
            throw new ArgumentException(
                $"The gate is {gate.GetLength(0)}×{gate.GetLength(1)}; with {classes} classes and {filters} filters it must be {filters}×{classes} (filter by class).", nameof(gate));
        }

        var rows = new FilterClass[filters];
        for (var k = 0; k < filters; k++)
        {
            var informative = ClassSpecificity.ArgMaxClass(mutualInformation, k, classes);
            int? gateClass = gate is null ? null : ClassSpecificity.ArgMaxGate(gate, k, classes);
            rows[k] = new FilterClass(k, gateClass, gateClass is { } g ? gate![k, g] : null, informative, mutualInformation[informative, k]);
        }

        return new CsgAnalysis(
            ClassSpecificity.MutualInformationScore(mutualInformation),
            ClassSpecificity.NormalizedMutualInformationScore(mutualInformation),
            gate is null ? null : ClassSpecificity.GateDensity(gate),
            gate is null || classes < 2 ? null : ClassSpecificity.OneHotFraction(gate),
            rows,
            mutualInformation);
    }
}
