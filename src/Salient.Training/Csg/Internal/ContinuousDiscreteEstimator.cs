namespace Salient.Training.Csg.Internal;

/// <summary>
/// Ross's kNN estimate of the mutual information between one continuous variable and a discrete one,
/// computed as scikit-learn's <c>_compute_mi_cd</c> does, but in one dimension: neighbours come from the
/// sorted values instead of a KD-tree or a brute-force search. Every distance and comparison is the
/// one those searches make, so radii and neighbour counts are identical, not merely close.
/// </summary>
internal static class ContinuousDiscreteEstimator
{
    /// <summary>Mutual information in nats, clipped at 0.</summary>
    /// <param name="column">The (jittered) continuous values with their ascending order.</param>
    /// <param name="labels">Labels 0..<paramref name="labelCount"/>−1, one per value.</param>
    /// <param name="labelCount">The number of distinct labels.</param>
    /// <param name="neighbors">k of the estimator (scikit-learn's <c>n_neighbors</c>).</param>
    public static double Estimate(SortedColumn column, ReadOnlySpan<int> labels, int labelCount, int neighbors)
    {
        var values = column.Values;
        var n = values.Length;
        var groups = GroupInSortedOrder(column.Order, labels, labelCount);

        var radius = new double[n];
        foreach (var group in groups)
        {
            if (group.Length > 1)
            {
                AssignRadii(values, group, Math.Min(neighbors, group.Length - 1), radius);
            }
        }

        // Points alone in their label have no within-label neighbour: scikit-learn drops them entirely.
        var kept = new List<int>(n);
        foreach (var index in column.Order)
        {
            if (groups[labels[index]].Length > 1)
            {
                kept.Add(index);
            }
        }

        if (kept.Count == 0)
        {
            throw new ArgumentException("Mutual information needs at least two samples that share a label.", nameof(labels));
        }

        var keptValues = new double[kept.Count];
        for (var p = 0; p < kept.Count; p++)
        {
            keptValues[p] = values[kept[p]];
        }

        var neighbourCount = new int[n];
        for (var p = 0; p < kept.Count; p++)
        {
            neighbourCount[kept[p]] = CountWithin(keptValues, p, radius[kept[p]]);
        }

        // The three means run over the kept samples in their original order, as NumPy sums them.
        var keptInSampleOrder = kept.ToArray();
        Array.Sort(keptInSampleOrder);
        var digammaK = new double[keptInSampleOrder.Length];
        var digammaLabelCount = new double[keptInSampleOrder.Length];
        var digammaNeighbours = new double[keptInSampleOrder.Length];
        for (var i = 0; i < keptInSampleOrder.Length; i++)
        {
            var index = keptInSampleOrder[i];
            var labelSize = groups[labels[index]].Length;
            digammaK[i] = Digamma.Of(Math.Min(neighbors, labelSize - 1));
            digammaLabelCount[i] = Digamma.Of(labelSize);
            digammaNeighbours[i] = Digamma.Of(neighbourCount[index]);
        }

        var mi = Digamma.Of(keptInSampleOrder.Length)
            + NumpySum.Mean<double>(digammaK)
            - NumpySum.Mean<double>(digammaLabelCount)
            - NumpySum.Mean<double>(digammaNeighbours);
        return Math.Max(0, mi);
    }

    /// <summary>Sample indices of each label, each list in ascending order of value.</summary>
    private static int[][] GroupInSortedOrder(ReadOnlySpan<int> order, ReadOnlySpan<int> labels, int labelCount)
    {
        var sizes = new int[labelCount];
        foreach (var index in order)
        {
            sizes[labels[index]]++;
        }

        var groups = new int[labelCount][];
        for (var label = 0; label < labelCount; label++)
        {
            groups[label] = new int[sizes[label]];
        }

        Array.Clear(sizes);
        foreach (var index in order)
        {
            var label = labels[index];
            groups[label][sizes[label]++] = index;
        }

        return groups;
    }

    /// <summary>
    /// Each member's distance to its k-th nearest other member of the group, stepped one ulp towards 0
    /// (<c>np.nextafter(r, 0)</c>) so the later count is strictly inside it.
    /// </summary>
    private static void AssignRadii(double[] values, int[] group, int k, double[] radius)
    {
        // scikit-learn's NearestNeighbors(algorithm="auto") searches brute-force when k ≥ size // 2 and
        // with a KD-tree otherwise; the two compute distances differently.
        var bruteForce = k >= group.Length / 2;
        for (var p = 0; p < group.Length; p++)
        {
            var r = bruteForce ? BruteForceKthDistance(values, group, p, k) : SortedKthDistance(values, group, p, k);
            radius[group[p]] = r > 0 ? Math.BitDecrement(r) : 0;
        }
    }

    /// <summary>
    /// The KD-tree's k-th distance: it ranks squared differences and returns √(d·d), which is |d|
    /// except where d·d underflows. In sorted order the k nearest others are the k closest steps
    /// outwards from p.
    /// </summary>
    private static double SortedKthDistance(double[] values, int[] group, int p, int k)
    {
        var x = values[group[p]];
        int below = p - 1, above = p + 1;
        var distance = 0.0;
        for (var step = 0; step < k; step++)
        {
            var toBelow = below >= 0 ? x - values[group[below]] : double.PositiveInfinity;
            var toAbove = above < group.Length ? values[group[above]] - x : double.PositiveInfinity;
            if (toBelow <= toAbove)
            {
                distance = toBelow;
                below--;
            }
            else
            {
                distance = toAbove;
                above++;
            }
        }

        return Math.Sqrt(distance * distance);
    }

    /// <summary>
    /// The brute-force search's k-th distance: scikit-learn ranks the expanded squares
    /// ‖x‖² − 2x·y + ‖y‖² (exactly 0 for the point itself, possibly negative for near neighbours), keeps
    /// the k + 1 smallest including the point and reports √max(·, 0) of the largest. Which tied entry is
    /// dropped as "the point itself" cannot change that largest value.
    /// </summary>
    private static double BruteForceKthDistance(double[] values, int[] group, int p, int k)
    {
        var x = values[group[p]];
        var squared = new double[group.Length];
        for (var q = 0; q < group.Length; q++)
        {
            var y = values[group[q]];
            squared[q] = ((x * x) + (-2.0 * (x * y))) + (y * y);
        }

        Array.Sort(squared);
        return Math.Sqrt(Math.Max(squared[k], 0.0));
    }

    /// <summary>
    /// How many kept values lie within <paramref name="radius"/> of value p, p included, as the
    /// KD-tree's radius query counts them (squared difference ≤ squared radius). The values are sorted,
    /// so the qualifying ones form one run around p, found by binary search on each side.
    /// </summary>
    private static int CountWithin(double[] sorted, int p, double radius)
    {
        var x = sorted[p];
        var limit = radius * radius;

        int lo = 0, hi = p;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            var d = x - sorted[mid];
            if (d * d <= limit)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        var first = lo;
        lo = p;
        hi = sorted.Length - 1;
        while (lo < hi)
        {
            var mid = (lo + hi + 1) >>> 1;
            var d = sorted[mid] - x;
            if (d * d <= limit)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo - first + 1;
    }
}
