using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>Row log-softmax, x − (max + ln Σ exp(x − max)); x and y may be the same view. One group of <see cref="GroupReduce.Size"/> threads per row, grid = rows.</summary>
public static class LogSoftmaxKernel
{
    public static void Run(ArrayView<float> x, ArrayView<float> y, int cols)
    {
        var start = (long)Grid.IdxX * cols;
        var max = float.NegativeInfinity;
        for (var j = Group.IdxX; j < cols; j += GroupReduce.Size)
        {
            max = GroupReduce.MaxPropagatingNaN(x[start + j], max);
        }

        max = GroupReduce.Max(max);
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
