using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// The CPU's <see cref="IKernelBackend.NormalizeRows"/> (layer norm: a scale and bias per column;
/// instance norm: per row, repeating) and its backward: one pass for the mean, one for the variance.
/// </summary>
internal static class RowNormKernel
{
    private const int RowsPerTask = 64;

    public static void Forward(RowAffine affine, int rows, int cols, float epsilon, ReadOnlyMemory<float> input, ReadOnlyMemory<float> scale,
        ReadOnlyMemory<float> bias, Memory<float> output)
    {
        DataMovementChecks.Rows("Normalisation", rows, cols, input.Length, output.Length, input.Length);
        DataMovementChecks.Affine(affine, rows, cols, scale.Length, bias.Length);
        ForRows(rows, (start, end) =>
        {
            for (var r = start; r < end; r++)
            {
                var y = output.Span.Slice(r * cols, cols);
                Normalize(input.Span.Slice(r * cols, cols), y, epsilon);
                if (affine == RowAffine.PerColumn)
                {
                    if (!scale.IsEmpty)
                    {
                        TensorPrimitives.Multiply(y, scale.Span, y);
                    }

                    if (!bias.IsEmpty)
                    {
                        TensorPrimitives.Add(y, bias.Span, y);
                    }
                }
                else
                {
                    if (!scale.IsEmpty)
                    {
                        TensorPrimitives.Multiply(y, scale.Span[r % scale.Length], y);
                    }

                    if (!bias.IsEmpty)
                    {
                        TensorPrimitives.Add(y, bias.Span[r % bias.Length], y);
                    }
                }
            }
        });
    }

    public static void Backward(RowAffine affine, int rows, int cols, float epsilon, ReadOnlySpan<float> input, ReadOnlySpan<float> scale,
        ReadOnlySpan<float> outputGradient, Span<float> inputGradient, Span<float> scaleGradient, Span<float> biasGradient)
    {
        DataMovementChecks.Rows("Normalisation backward", rows, cols, input.Length, outputGradient.Length, input.Length);
        DataMovementChecks.Affine(affine, rows, cols, scale.Length, 0);
        if ((!inputGradient.IsEmpty && inputGradient.Length != input.Length) || (!scaleGradient.IsEmpty && scaleGradient.Length != scale.Length)
            || (!biasGradient.IsEmpty && biasGradient.Length != scale.Length))
        {
            throw new ArgumentException($"Normalisation backward of {rows}×{cols} got room for {inputGradient.Length} input, {scaleGradient.Length} scale and {biasGradient.Length} bias gradients.");
        }

        scaleGradient.Clear();
        biasGradient.Clear();
        var normalized = new float[cols];
        var g = new float[cols];
        for (var r = 0; r < rows; r++)
        {
            var dy = outputGradient.Slice(r * cols, cols);
            var rstd = Normalize(input.Slice(r * cols, cols), normalized, epsilon);
            if (affine == RowAffine.PerColumn)
            {
                if (!scaleGradient.IsEmpty)
                {
                    TensorPrimitives.MultiplyAdd(dy, normalized, scaleGradient, scaleGradient);
                }

                if (!biasGradient.IsEmpty)
                {
                    TensorPrimitives.Add(biasGradient, dy, biasGradient);
                }
            }
            else
            {
                if (!scaleGradient.IsEmpty)
                {
                    scaleGradient[r % scale.Length] += TensorPrimitives.Dot(dy, normalized);
                }

                if (!biasGradient.IsEmpty)
                {
                    biasGradient[r % scale.Length] += TensorPrimitives.Sum(dy);
                }
            }

            if (!inputGradient.IsEmpty)
            {
                if (scale.IsEmpty)
                {
                    dy.CopyTo(g);
                }
                else if (affine == RowAffine.PerColumn)
                {
                    TensorPrimitives.Multiply(dy, scale, g);
                }
                else
                {
                    TensorPrimitives.Multiply(dy, scale[r % scale.Length], g);
                }

                NormalizeBackward(normalized, rstd, g, inputGradient.Slice(r * cols, cols));
            }
        }
    }

    /// <summary>Normalises <paramref name="x"/> to zero mean and unit (biased) variance into <paramref name="y"/>; returns 1/σ.</summary>
    private static float Normalize(ReadOnlySpan<float> x, Span<float> y, float epsilon)
    {
        var n = x.Length;
        TensorPrimitives.Subtract(x, TensorPrimitives.Sum(x) / n, y);
        var rstd = 1f / MathF.Sqrt((TensorPrimitives.SumOfSquares(y) / n) + epsilon);
        TensorPrimitives.Multiply(y, rstd, y);
        return rstd;
    }

    /// <summary>dx = (g − mean(g) − x̂·mean(g·x̂))/σ, given the normalised values x̂, 1/σ and g = dy·scale. <paramref name="dx"/> may be <paramref name="g"/>.</summary>
    private static void NormalizeBackward(ReadOnlySpan<float> normalized, float rstd, ReadOnlySpan<float> g, Span<float> dx)
    {
        var n = normalized.Length;
        var meanG = TensorPrimitives.Sum(g) / n;
        var meanGx = TensorPrimitives.Dot(g, normalized) / n;
        for (var i = 0; i < n; i++)
        {
            dx[i] = (g[i] - meanG - (normalized[i] * meanGx)) * rstd;
        }
    }

    /// <summary>Runs <paramref name="body"/> over row ranges, in parallel when there are enough rows to pay for it.</summary>
    public static void ForRows(int rows, Action<int, int> body)
    {
        if (rows < 2 * RowsPerTask)
        {
            body(0, rows);
            return;
        }

        Parallel.For(0, (rows + RowsPerTask - 1) / RowsPerTask, t => body(t * RowsPerTask, Math.Min(rows, (t + 1) * RowsPerTask)));
    }
}
