using System.Numerics;

namespace Salient.Training.Csg.Internal;

/// <summary>
/// The preprocessing of scikit-learn's <c>_estimate_mi</c> for continuous features: each column is
/// divided by its population standard deviation (in the array's own precision, as <c>scale</c> does;
/// a near-zero deviation counts as 1), widened to double, and jittered by
/// 1e-10·max(1, mean |x|)·N(0, 1) so that ties (for instance the zeros of ReLU features) are broken.
/// The normal draws fill an N×K matrix row by row from one seeded generator.
/// </summary>
internal static class FeatureJitter
{
    private const double Amplitude = 1e-10;

    public static SortedColumn[] Apply<T>(ReadOnlySpan<T> features, int featureCount, int randomState)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var samples = features.Length / featureCount;
        var noise = new double[features.Length];
        var source = new LegacyNormalSource((uint)randomState);
        for (var i = 0; i < noise.Length; i++)
        {
            noise[i] = source.NextStandardNormal();
        }

        var columns = new SortedColumn[featureCount];
        var column = new T[samples];
        var squaredDeviations = new T[samples];
        var magnitudes = new double[samples];
        for (var k = 0; k < featureCount; k++)
        {
            for (var i = 0; i < samples; i++)
            {
                column[i] = features[(i * featureCount) + k];
            }

            var deviation = StandardDeviation(column, squaredDeviations);
            var jittered = new double[samples];
            for (var i = 0; i < samples; i++)
            {
                jittered[i] = double.CreateChecked(column[i] / deviation);
                magnitudes[i] = Math.Abs(jittered[i]);
            }

            var step = Amplitude * Math.Max(1, NumpySum.Mean<double>(magnitudes));
            for (var i = 0; i < samples; i++)
            {
                jittered[i] += step * noise[(i * featureCount) + k];
            }

            columns[k] = new SortedColumn(jittered);
        }

        return columns;
    }

    /// <summary>
    /// <c>np.nanstd</c> (ddof 0) in <typeparamref name="T"/>, replaced by 1 below ten machine epsilons as
    /// scikit-learn's <c>_handle_zeros_in_scale</c> does.
    /// </summary>
    private static T StandardDeviation<T>(T[] column, T[] squaredDeviations)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var mean = NumpySum.Mean<T>(column);
        for (var i = 0; i < column.Length; i++)
        {
            var d = column[i] - mean;
            squaredDeviations[i] = d * d;
        }

        var deviation = T.Sqrt(NumpySum.Mean<T>(squaredDeviations));
        var epsilon = T.BitIncrement(T.One) - T.One;
        return deviation < T.CreateChecked(10) * epsilon ? T.One : deviation;
    }
}
