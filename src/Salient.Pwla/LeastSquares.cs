using System.Numerics;

namespace Salient.Pwla;

/// <summary>
/// Dense linear least squares by Householder QR with column pivoting, in double. Columns whose remaining norm falls
/// below 1e-13 of the largest are dropped (coefficient 0), so coincident or idle knots never make the solve fail.
/// </summary>
internal static class LeastSquares
{
    private const double RankTolerance = 1e-13;

    /// <summary>
    /// Minimises ‖A x − b‖ for column-major <paramref name="a"/> (rows × columns); <paramref name="a"/> and
    /// <paramref name="b"/> are overwritten.
    /// </summary>
    public static void Solve(Span<double> a, int rows, int columns, Span<double> b, Span<double> x)
    {
        Span<int> permutation = stackalloc int[columns];
        Span<double> diagonal = stackalloc double[columns];
        for (var j = 0; j < columns; j++)
        {
            permutation[j] = j;
        }

        var largest = 0.0;
        for (var j = 0; j < columns; j++)
        {
            largest = Math.Max(largest, Norm(a.Slice(j * rows, rows)));
        }

        var rank = 0;
        for (var k = 0; k < Math.Min(columns, rows); k++)
        {
            var best = k;
            var bestNorm = -1.0;
            for (var j = k; j < columns; j++)
            {
                var norm = Norm(a.Slice((j * rows) + k, rows - k));
                if (norm > bestNorm)
                {
                    (best, bestNorm) = (j, norm);
                }
            }

            if (bestNorm <= RankTolerance * largest || bestNorm == 0)
            {
                break;
            }

            if (best != k)
            {
                SwapColumns(a, rows, k, best);
                (permutation[k], permutation[best]) = (permutation[best], permutation[k]);
            }

            // Householder reflector v = col − alpha e_k, stored in place of the column below the diagonal.
            var column = a.Slice((k * rows) + k, rows - k);
            var alpha = column[0] > 0 ? -bestNorm : bestNorm;
            column[0] -= alpha;
            var vNorm2 = Dot(column, column);
            for (var j = k + 1; j < columns; j++)
            {
                Reflect(column, a.Slice((j * rows) + k, rows - k), vNorm2);
            }

            Reflect(column, b[k..], vNorm2);
            diagonal[k] = alpha;
            rank++;
        }

        x.Clear();
        for (var i = rank - 1; i >= 0; i--)
        {
            var sum = b[i];
            for (var j = i + 1; j < rank; j++)
            {
                sum -= a[(j * rows) + i] * x[permutation[j]];
            }

            x[permutation[i]] = sum / diagonal[i];
        }
    }

    private static void SwapColumns(Span<double> a, int rows, int k, int j)
    {
        var first = a.Slice(k * rows, rows);
        var second = a.Slice(j * rows, rows);
        for (var i = 0; i < rows; i++)
        {
            (first[i], second[i]) = (second[i], first[i]);
        }
    }

    private static void Reflect(ReadOnlySpan<double> v, Span<double> target, double vNorm2)
    {
        var scale = 2 * Dot(v, target) / vNorm2;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var factor = new Vector<double>(scale);
            for (; i <= v.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                (new Vector<double>(target[i..]) - (factor * new Vector<double>(v[i..]))).CopyTo(target[i..]);
            }
        }

        for (; i < v.Length; i++)
        {
            target[i] -= scale * v[i];
        }
    }

    private static double Norm(ReadOnlySpan<double> v) => Math.Sqrt(Dot(v, v));

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        var i = 0;
        var sum = 0.0;
        if (Vector.IsHardwareAccelerated)
        {
            var acc = Vector<double>.Zero;
            for (; i <= a.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                acc += new Vector<double>(a[i..]) * new Vector<double>(b[i..]);
            }

            sum = Vector.Sum(acc);
        }

        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }
}
