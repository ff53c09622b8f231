using System.Numerics.Tensors;

namespace Salient.Methods.Internal;

/// <summary>
/// A square sparse matrix in compressed rows, with a Jacobi-preconditioned conjugate-gradient
/// solver for the symmetric positive definite systems the imputer builds.
/// </summary>
public sealed class SparseMatrix
{
    private readonly int[] _rowStarts;
    private readonly int[] _columns;
    private readonly double[] _values;

    /// <param name="rowStarts">Size + 1 offsets into <paramref name="columns"/> and <paramref name="values"/>.</param>
    /// <param name="columns">Column of each stored entry.</param>
    /// <param name="values">Value of each stored entry.</param>
    public SparseMatrix(int[] rowStarts, int[] columns, double[] values)
    {
        _rowStarts = rowStarts;
        _columns = columns;
        _values = values;
    }

    public int Size => _rowStarts.Length - 1;

    /// <summary>result = A·x.</summary>
    public void Multiply(ReadOnlySpan<double> x, Span<double> result)
    {
        for (var row = 0; row < Size; row++)
        {
            var sum = 0.0;
            for (var k = _rowStarts[row]; k < _rowStarts[row + 1]; k++)
            {
                sum += _values[k] * x[_columns[k]];
            }

            result[row] = sum;
        }
    }

    /// <summary>
    /// Solves A·x = b for symmetric positive definite A, starting from the given x, until
    /// ‖b − A·x‖ ≤ <paramref name="tolerance"/>·‖b‖. Returns the iterations taken.
    /// </summary>
    public int SolveConjugateGradient(ReadOnlySpan<double> b, Span<double> x, double tolerance = 1e-8, int? maxIterations = null)
    {
        var n = Size;
        var inverseDiagonal = new double[n];
        for (var row = 0; row < n; row++)
        {
            for (var k = _rowStarts[row]; k < _rowStarts[row + 1]; k++)
            {
                if (_columns[k] == row)
                {
                    inverseDiagonal[row] = 1 / _values[k];
                }
            }
        }

        var residual = new double[n];
        var preconditioned = new double[n];
        var direction = new double[n];
        var product = new double[n];
        Multiply(x, residual);
        for (var i = 0; i < n; i++)
        {
            residual[i] = b[i] - residual[i];
            preconditioned[i] = inverseDiagonal[i] * residual[i];
            direction[i] = preconditioned[i];
        }

        var target = tolerance * Math.Sqrt(TensorPrimitives.Dot<double>(b, b));
        var rz = TensorPrimitives.Dot<double>(residual, preconditioned);
        var limit = maxIterations ?? Math.Max(100, 2 * n);
        for (var iteration = 0; iteration < limit; iteration++)
        {
            if (Math.Sqrt(TensorPrimitives.Dot<double>(residual, residual)) <= target)
            {
                return iteration;
            }

            Multiply(direction, product);
            var step = rz / TensorPrimitives.Dot<double>(direction, product);
            for (var i = 0; i < n; i++)
            {
                x[i] += step * direction[i];
                residual[i] -= step * product[i];
                preconditioned[i] = inverseDiagonal[i] * residual[i];
            }

            var next = TensorPrimitives.Dot<double>(residual, preconditioned);
            var beta = next / rz;
            rz = next;
            for (var i = 0; i < n; i++)
            {
                direction[i] = preconditioned[i] + (beta * direction[i]);
            }
        }

        return limit;
    }
}
