using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>Row softmax and log-softmax, shifted by the row maximum so exp cannot overflow, and their backward.</summary>
internal static class SoftmaxKernel
{
    public static void Run(int rows, int cols, ReadOnlySpan<float> input, Span<float> output)
    {
        DataMovementChecks.Rows("Softmax", rows, cols, input.Length, output.Length, input.Length);
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

    public static void Log(int rows, int cols, ReadOnlySpan<float> input, Span<float> output)
    {
        DataMovementChecks.Rows("LogSoftmax", rows, cols, input.Length, output.Length, input.Length);

        // The output may be the input's storage: the exponentials go to a scratch row.
        var scratch = new float[cols];
        for (var r = 0; r < rows; r++)
        {
            var x = input.Slice(r * cols, cols);
            var max = TensorPrimitives.Max(x);
            TensorPrimitives.Subtract(x, max, scratch);
            TensorPrimitives.Exp(scratch, scratch);
            TensorPrimitives.Subtract(x, MathF.Log(TensorPrimitives.Sum(scratch)) + max, output.Slice(r * cols, cols));
        }
    }

    public static void Backward(bool log, int rows, int cols, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
    {
        DataMovementChecks.Rows("Softmax backward", rows, cols, output.Length, inputGradient.Length, output.Length);
        if (outputGradient.Length != output.Length)
        {
            throw new ArgumentException($"Softmax backward got {outputGradient.Length} gradients for {output.Length} outputs.");
        }

        for (var r = 0; r < rows; r++)
        {
            var y = output.Slice(r * cols, cols);
            var dy = outputGradient.Slice(r * cols, cols);
            var dx = inputGradient.Slice(r * cols, cols);
            if (log)
            {
                TensorPrimitives.Exp(y, dx);
                TensorPrimitives.Multiply(dx, -TensorPrimitives.Sum(dy), dx);
                TensorPrimitives.Add(dx, dy, dx);
            }
            else
            {
                TensorPrimitives.Subtract(dy, TensorPrimitives.Dot(dy, y), dx);
                TensorPrimitives.Multiply(dx, y, dx);
            }
        }
    }
}
