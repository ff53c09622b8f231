using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>The CPU's <see cref="IKernelBackend.ReduceRows"/> and its backward.</summary>
internal static class RowReduceKernel
{
    public static void Run(RowReduction reduction, int rows, int cols, ReadOnlySpan<float> input, Span<float> output)
    {
        DataMovementChecks.Rows("Reduction", rows, cols, input.Length, output.Length, rows);
        for (var r = 0; r < rows; r++)
        {
            var row = input.Slice(r * cols, cols);
            output[r] = reduction switch
            {
                RowReduction.Mean => TensorPrimitives.Sum(row) / cols,
                RowReduction.Sum => TensorPrimitives.Sum(row),
                RowReduction.Max => TensorPrimitives.Max(row),
                RowReduction.Min => TensorPrimitives.Min(row),
                _ => throw new ArgumentOutOfRangeException(nameof(reduction), reduction, "Unknown reduction."),
            };
        }
    }

    public static void Backward(RowReduction reduction, bool firstOnly, int rows, int cols, ReadOnlySpan<float> input, ReadOnlySpan<float> output,
        ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
    {
        DataMovementChecks.Rows("Reduction backward", rows, cols, inputGradient.Length, outputGradient.Length, rows);
        for (var r = 0; r < rows; r++)
        {
            var target = inputGradient.Slice(r * cols, cols);
            switch (reduction)
            {
                case RowReduction.Sum:
                    target.Fill(outputGradient[r]);
                    break;
                case RowReduction.Mean:
                    target.Fill(outputGradient[r]);
                    TensorPrimitives.Multiply(target, 1f / cols, target);
                    break;
                default:
                    // The gradient goes to the row's extreme values (the first only, for pooling).
                    var row = input.Slice(r * cols, cols);
                    target.Clear();
                    var ties = 0;
                    for (var i = 0; i < cols && !(firstOnly && ties > 0); i++)
                    {
                        if (row[i] == output[r])
                        {
                            target[i] = 1f;
                            ties++;
                        }
                    }

                    TensorPrimitives.Multiply(target, outputGradient[r] / Math.Max(ties, 1), target);
                    break;
            }
        }
    }
}
