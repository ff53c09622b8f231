using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>Row softmax, shifted by the row maximum so exp cannot overflow.</summary>
internal static class SoftmaxKernel
{
    public static void Run(int rows, int cols, ReadOnlySpan<float> input, Span<float> output)
    {
        if (rows < 0 || cols <= 0 || input.Length != (long)rows * cols || output.Length != input.Length)
        {
            throw new ArgumentException($"Softmax of {rows}×{cols} got {input.Length} inputs and {output.Length} outputs.");
        }

        for (var r = 0; r < rows; r++)
        {
            var x = input.Slice(r * cols, cols);
            var y = output.Slice(r * cols, cols);
            var max = TensorPrimitives.Max(x);
            TensorPrimitives.Subtract(x, max, y);
            TensorPrimitives.Exp(y, y);
            TensorPrimitives.Multiply(y, 1f / TensorPrimitives.Sum(y), y);
        }
    }
}
