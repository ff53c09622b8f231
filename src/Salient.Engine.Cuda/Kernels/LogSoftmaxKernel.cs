using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>Row log-softmax, x − (max + ln Σ exp(x − max)); x and y may be the same view. One group of <see cref="GroupReduce.Size"/> threads per row, grid = rows.</summary>
public static class LogSoftmaxKernel
{
    public static void Run(ArrayView<float> x, ArrayView<float> y, int cols)
    {
        var start = (long)Grid.IdxX * cols;
        var max = GroupReduce.RowMax(x, start, cols);
        var sum = 0f;
        for (var j = Group.IdxX; j < cols; j += GroupReduce.Size)
        {
            sum += MathF.Exp(x[start + j] - max);
        }

        var shift = MathF.Log(GroupReduce.Sum(sum)) + max;
        for (var j = Group.IdxX; j < cols; j += GroupReduce.Size)
        {
            y[start + j] = x[start + j] - shift;
        }
    }
}
