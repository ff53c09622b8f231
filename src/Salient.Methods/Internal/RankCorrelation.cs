namespace Salient.Methods.Internal;

/// <summary>Spearman's rank correlation, as scipy.stats.spearmanr computes it (average ranks for ties).</summary>
internal static class RankCorrelation
{
    /// <summary>The Pearson correlation of the ranks; 0 when either side is constant (no ranking to agree with).</summary>
    public static double Spearman(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Spearman correlation needs equal lengths; got {a.Length} and {b.Length}.");
        }

        var ra = Ranks(a);
        var rb = Ranks(b);
        var mean = (a.Length + 1) / 2.0;
        double covariance = 0, va = 0, vb = 0;
        for (var i = 0; i < ra.Length; i++)
        {
            var (da, db) = (ra[i] - mean, rb[i] - mean);
            covariance += da * db;
            va += da * da;
            vb += db * db;
        }

        return va == 0 || vb == 0 ? 0 : covariance / Math.Sqrt(va * vb);
    }

    /// <summary>1-based ranks, ties sharing the mean of the ranks they span.</summary>
    private static double[] Ranks(ReadOnlySpan<float> values)
    {
        var order = MapMath.DescendingOrder(values);
        Array.Reverse(order);
        var ranks = new double[values.Length];
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]])
            {
                end++;
            }

            var rank = ((start + end) / 2.0) + 1;
            for (var k = start; k <= end; k++)
            {
                ranks[order[k]] = rank;
            }

            start = end + 1;
        }

        return ranks;
    }
}
