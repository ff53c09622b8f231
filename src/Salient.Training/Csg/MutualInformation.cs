using System.Numerics;
using Salient.Training.Csg.Internal;

namespace Salient.Training.Csg;

/// <summary>
/// kNN estimates (Kraskov et al. 2004; Ross 2014) of the mutual information, in nats, between
/// continuous features and a discrete target. The result equals scikit-learn 1.2's
/// <c>mutual_info_classif(X, y, discrete_features=False, n_neighbors=neighbors, random_state=randomState)</c>
/// on the same array: the same per-column scaling in the array's precision (so float32 features match
/// a float32 <c>X</c>), the same seeded tie-breaking jitter, and the same neighbour radii and counts.
/// </summary>
/// <remarks>
/// Features are row-major: sample i, feature k at <c>features[i * featureCount + k]</c>. Like
/// scikit-learn, the jitter for feature k depends on the number of features (the draws fill the whole
/// N×K matrix), so estimate all features of a layer in one call to reproduce a reference run.
/// </remarks>
public static class MutualInformation
{
    /// <summary>scikit-learn's default <c>n_neighbors</c>.</summary>
    public const int DefaultNeighbors = 3;

    /// <summary>The mutual information between each feature and <paramref name="labels"/>.</summary>
    /// <param name="features">N×K feature values, row-major.</param>
    /// <param name="featureCount">K, the number of features per sample.</param>
    /// <param name="labels">N discrete labels (any integers).</param>
    /// <param name="neighbors">k of the estimator; at least 1.</param>
    /// <param name="randomState">Seed of the tie-breaking jitter (scikit-learn's <c>random_state</c>).</param>
    /// <returns>K values in nats, each at least 0.</returns>
    /// <exception cref="ArgumentException">The sizes disagree, a feature is NaN or infinite, or no two samples share a label.</exception>
    public static double[] Classif(ReadOnlySpan<double> features, int featureCount, ReadOnlySpan<int> labels, int neighbors = DefaultNeighbors, int randomState = 0) =>
        ClassifCore(features, featureCount, labels, neighbors, randomState);

    /// <inheritdoc cref="Classif(ReadOnlySpan{double}, int, ReadOnlySpan{int}, int, int)"/>
    public static double[] Classif(ReadOnlySpan<float> features, int featureCount, ReadOnlySpan<int> labels, int neighbors = DefaultNeighbors, int randomState = 0) =>
        ClassifCore(features, featureCount, labels, neighbors, randomState);

    /// <summary>
    /// The class-by-feature matrix M[c, k] = I(feature k; 1[label = c]): one
    /// <see cref="Classif(ReadOnlySpan{double}, int, ReadOnlySpan{int}, int, int)"/> per class with a
    /// one-vs-rest target, as CSG's MIS is computed.
    /// </summary>
    /// <param name="features">N×K feature values, row-major.</param>
    /// <param name="featureCount">K, the number of features per sample.</param>
    /// <param name="labels">N class indices in [0, <paramref name="classCount"/>).</param>
    /// <param name="classCount">C, the number of classes.</param>
    /// <param name="neighbors">k of the estimator; at least 1.</param>
    /// <param name="randomState">Seed of the tie-breaking jitter, the same for every class.</param>
    /// <returns>A C×K matrix in nats.</returns>
    /// <exception cref="ArgumentException">The sizes disagree, a feature is NaN or infinite, or a label is outside [0, C).</exception>
    public static double[,] OneVsRest(ReadOnlySpan<double> features, int featureCount, ReadOnlySpan<int> labels, int classCount, int neighbors = DefaultNeighbors, int randomState = 0) =>
        OneVsRestCore(features, featureCount, labels, classCount, neighbors, randomState);

    /// <inheritdoc cref="OneVsRest(ReadOnlySpan{double}, int, ReadOnlySpan{int}, int, int, int)"/>
    public static double[,] OneVsRest(ReadOnlySpan<float> features, int featureCount, ReadOnlySpan<int> labels, int classCount, int neighbors = DefaultNeighbors, int randomState = 0) =>
        OneVsRestCore(features, featureCount, labels, classCount, neighbors, randomState);

    private static double[] ClassifCore<T>(ReadOnlySpan<T> features, int featureCount, ReadOnlySpan<int> labels, int neighbors, int randomState)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(features, featureCount, labels, neighbors, randomState);
        var distinct = labels.ToArray().Distinct().Order().ToArray();
        var dense = new int[labels.Length];
        for (var i = 0; i < dense.Length; i++)
        {
            dense[i] = Array.BinarySearch(distinct, labels[i]);
        }

        var columns = FeatureJitter.Apply(features, featureCount, randomState);
        return [.. columns.Select(column => ContinuousDiscreteEstimator.Estimate(column, dense, distinct.Length, neighbors))];
    }

    private static double[,] OneVsRestCore<T>(ReadOnlySpan<T> features, int featureCount, ReadOnlySpan<int> labels, int classCount, int neighbors, int randomState)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Validate(features, featureCount, labels, neighbors, randomState);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        for (var i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classCount)
            {
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"Label {i} is {labels[i]}, outside the {classCount} classes [0, {classCount}).");
            }
        }

        // Each scikit-learn call reseeds, so every class sees the same jittered features: jitter and sort once.
        var columns = FeatureJitter.Apply(features, featureCount, randomState);
        var result = new double[classCount, featureCount];
        var target = new int[labels.Length];
        for (var c = 0; c < classCount; c++)
        {
            for (var i = 0; i < target.Length; i++)
            {
                target[i] = labels[i] == c ? 1 : 0;
            }

            for (var k = 0; k < featureCount; k++)
            {
                result[c, k] = ContinuousDiscreteEstimator.Estimate(columns[k], target, 2, neighbors);
            }
        }

        return result;
    }

    private static void Validate<T>(ReadOnlySpan<T> features, int featureCount, ReadOnlySpan<int> labels, int neighbors, int randomState)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(featureCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(neighbors, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(randomState);
        if (labels.Length == 0 || (long)labels.Length * featureCount != features.Length)
        {
            throw new ArgumentException(
                $"{features.Length} feature values do not form {labels.Length} samples (one per label) of {featureCount} features.", nameof(features));
        }

        for (var i = 0; i < features.Length; i++)
        {
            if (!T.IsFinite(features[i]))
            {
                throw new ArgumentException($"Feature {i % featureCount} of sample {i / featureCount} is {features[i]}; mutual information needs finite features.", nameof(features));
            }
        }
    }
}
