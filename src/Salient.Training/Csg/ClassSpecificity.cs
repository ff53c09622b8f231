namespace Salient.Training.Csg;

/// <summary>
/// The class-specificity measures of CSG (spec csg.md §2): the Mutual Information Score of a C×K
/// mutual-information matrix, and the density and one-hot fraction of a K×C gate.
/// </summary>
public static class ClassSpecificity
{
    /// <summary>The gate value below which a filter's second-best class counts as closed.</summary>
    public const double OpenGate = 0.5;

    /// <summary>MIS = (1/K) Σₖ maxₓ M[c, k]: the mean over filters of each filter's most informative class.</summary>
    /// <param name="mutualInformation">M[c, k] = I(aₖ; 1[y = c]) in nats, C×K.</param>
    public static double MutualInformationScore(double[,] mutualInformation)
    {
        ValidateMutualInformation(mutualInformation);
        var (classes, filters) = (mutualInformation.GetLength(0), mutualInformation.GetLength(1));
        var sum = 0.0;
        for (var k = 0; k < filters; k++)
        {
            sum += mutualInformation[ArgMaxClass(mutualInformation, k, classes), k];
        }

        return sum / filters;
    }

    /// <summary>
    /// MIS after dividing each filter's column by its L1 norm over classes, so it measures how peaked a
    /// filter's class profile is rather than how much information it carries. A filter with zero
    /// information for every class contributes 0 (the reference code divides by zero there).
    /// </summary>
    /// <param name="mutualInformation">M[c, k] in nats, C×K.</param>
    public static double NormalizedMutualInformationScore(double[,] mutualInformation)
    {
        ValidateMutualInformation(mutualInformation);
        var (classes, filters) = (mutualInformation.GetLength(0), mutualInformation.GetLength(1));
        var sum = 0.0;
        for (var k = 0; k < filters; k++)
        {
            var norm = 0.0;
            for (var c = 0; c < classes; c++)
            {
                norm += mutualInformation[c, k];
            }

            if (norm > 0)
            {
                sum += mutualInformation[ArgMaxClass(mutualInformation, k, classes), k] / norm;
            }
        }

        return sum / filters;
    }

    /// <summary>The L1 density d(G) = ‖G‖₁ / (C·K): 1/C when every filter is open for exactly one class.</summary>
    /// <param name="gate">G[k, c] ∈ [0, 1], K×C (filter by class, as the CSG code stores it).</param>
    public static double GateDensity(double[,] gate)
    {
        ValidateGate(gate);
        var sum = 0.0;
        foreach (var g in gate)
        {
            sum += g;
        }

        return sum / gate.Length;
    }

    /// <summary>The fraction of filters whose second-largest gate is below <see cref="OpenGate"/>: filters effectively serving one class.</summary>
    /// <param name="gate">G[k, c] ∈ [0, 1], K×C with C ≥ 2.</param>
    public static double OneHotFraction(double[,] gate)
    {
        ValidateGate(gate);
        var (filters, classes) = (gate.GetLength(0), gate.GetLength(1));
        if (classes < 2)
        {
            throw new ArgumentException($"A one-hot fraction needs at least two classes; the gate has {classes}.", nameof(gate));
        }

        var oneHot = 0;
        for (var k = 0; k < filters; k++)
        {
            double largest = double.NegativeInfinity, second = double.NegativeInfinity;
            for (var c = 0; c < classes; c++)
            {
                var g = gate[k, c];
                if (g > largest)
                {
                    (largest, second) = (g, largest);
                }
                else if (g > second)
                {
                    second = g;
                }
            }

            if (second < OpenGate)
            {
                oneHot++;
            }
        }

        return (double)oneHot / filters;
    }

    /// <summary>The first class with the largest M[c, <paramref name="filter"/>] (NumPy's argmax convention).</summary>
    internal static int ArgMaxClass(double[,] mutualInformation, int filter, int classes)
    {
        var best = 0;
        for (var c = 1; c < classes; c++)
        {
            if (mutualInformation[c, filter] > mutualInformation[best, filter])
            {
                best = c;
            }
        }

        return best;
    }

    /// <summary>The first class with the largest gate G[<paramref name="filter"/>, c].</summary>
    internal static int ArgMaxGate(double[,] gate, int filter, int classes)
    {
        var best = 0;
        for (var c = 1; c < classes; c++)
        {
            if (gate[filter, c] > gate[filter, best])
            {
                best = c;
            }
        }

        return best;
    }

    internal static void ValidateMutualInformation(double[,] mutualInformation)
    {
        ArgumentNullException.ThrowIfNull(mutualInformation);
        if (mutualInformation.Length == 0)
        {
            throw new ArgumentException("The mutual-information matrix is empty; it needs at least one class and one filter.", nameof(mutualInformation));
        }

        foreach (var m in mutualInformation)
        {
            if (!(m >= 0) || double.IsPositiveInfinity(m))
            {
                throw new ArgumentException($"Mutual information must be finite and non-negative; the matrix holds {m}.", nameof(mutualInformation));
            }
        }
    }

    internal static void ValidateGate(double[,] gate)
    {
        ArgumentNullException.ThrowIfNull(gate);
        if (gate.Length == 0)
        {
            throw new ArgumentException("The gate is empty; it needs at least one filter and one class.", nameof(gate));
        }

        foreach (var g in gate)
        {
            if (!(g is >= 0 and <= 1))
            {
                throw new ArgumentException($"Gate values must lie in [0, 1]; the gate holds {g}.", nameof(gate));
            }
        }
    }
}
