namespace Salient.Methods.Internal;

/// <summary>
/// ROAD's noisy linear imputation (Rong et al. 2022; tleemann/road_evaluation): every imputed
/// pixel equals the weighted mean of its 8 neighbours (weight 1/6 for the 4-neighbours, 1/12 for
/// the diagonals; neighbours outside the image are dropped), solved as one sparse linear system per
/// channel, then Gaussian noise is added to the imputed pixels.
/// </summary>
public static class NoisyLinearImputer
{
    private static readonly (int Dy, int Dx, double Weight)[] Neighbours =
    [
        (-1, -1, 1.0 / 12), (-1, 0, 1.0 / 6), (-1, 1, 1.0 / 12),
        (0, -1, 1.0 / 6), (0, 1, 1.0 / 6),
        (1, -1, 1.0 / 12), (1, 0, 1.0 / 6), (1, 1, 1.0 / 12),
    ];

    /// <summary>
    /// Replaces the pixels where <paramref name="imputed"/> is true in every channel of
    /// <paramref name="image"/> (C×H×W) by the imputation plus <paramref name="noise"/>·N(0, 1).
    /// </summary>
    public static void Impute(Span<float> image, int height, int width, ReadOnlySpan<bool> imputed, double noise, Random random)
    {
        var plane = height * width;
        var (matrix, unknowns) = System(imputed, height, width);
        if (unknowns.Length == 0)
        {
            return;
        }

        var rhs = new double[unknowns.Length];
        var solution = new double[unknowns.Length];
        for (var c = 0; c < image.Length / plane; c++)
        {
            var channel = image.Slice(c * plane, plane);
            RightHandSide(channel, imputed, height, width, unknowns, rhs);
            Array.Clear(solution);
            matrix.SolveConjugateGradient(rhs, solution);
            for (var u = 0; u < unknowns.Length; u++)
            {
                channel[unknowns[u]] = (float)(solution[u] + (noise * MapMath.Gaussian(random)));
            }
        }
    }

    /// <summary>
    /// The system A·x = b over the imputed pixels (<c>unknowns</c>, in row-major order): row u holds
    /// the sum of u's in-image neighbour weights on the diagonal and −w for each imputed neighbour.
    /// It is symmetric and, unless every pixel is imputed, positive definite.
    /// </summary>
    public static (SparseMatrix Matrix, int[] Unknowns) System(ReadOnlySpan<bool> imputed, int height, int width)
    {
        var index = new int[imputed.Length];
        var unknowns = new List<int>();
        for (var p = 0; p < imputed.Length; p++)
        {
            index[p] = imputed[p] ? unknowns.Count : -1;
            if (imputed[p])
            {
                unknowns.Add(p);
            }
        }

        var rowStarts = new int[unknowns.Count + 1];
        var columns = new List<int>(unknowns.Count * 9);
        var values = new List<double>(unknowns.Count * 9);
        for (var u = 0; u < unknowns.Count; u++)
        {
            int y = unknowns[u] / width, x = unknowns[u] % width;
            var diagonal = 0.0;
            var diagonalAt = columns.Count;
            columns.Add(u);
            values.Add(0);
            foreach (var (dy, dx, weight) in Neighbours)
            {
                int ny = y + dy, nx = x + dx;
                if (ny < 0 || ny >= height || nx < 0 || nx >= width)
                {
                    continue;
                }

                diagonal += weight;
                var neighbour = index[(ny * width) + nx];
                if (neighbour >= 0)
                {
                    columns.Add(neighbour);
                    values.Add(-weight);
                }
            }

            values[diagonalAt] = diagonal;
            rowStarts[u + 1] = columns.Count;
        }

        return (new SparseMatrix(rowStarts, [.. columns], [.. values]), [.. unknowns]);
    }

    /// <summary>b_u = Σ w·x_v over u's known (not imputed) neighbours v.</summary>
    public static void RightHandSide(ReadOnlySpan<float> channel, ReadOnlySpan<bool> imputed, int height, int width, int[] unknowns, Span<double> rhs)
    {
        for (var u = 0; u < unknowns.Length; u++)
        {
            int y = unknowns[u] / width, x = unknowns[u] % width;
            var sum = 0.0;
            foreach (var (dy, dx, weight) in Neighbours)
            {
                int ny = y + dy, nx = x + dx;
                if (ny >= 0 && ny < height && nx >= 0 && nx < width && !imputed[(ny * width) + nx])
                {
                    sum += weight * channel[(ny * width) + nx];
                }
            }

            rhs[u] = sum;
        }
    }
}
