using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// The input gradient of a row softmax, dx = y·(dy − Σ dy·y), or with <c>log</c> of a log-softmax,
/// dx = dy − exp(y)·Σ dy, from the forward output y. One group of <see cref="GroupReduce.Size"/> threads per row, grid = rows.
/// </summary>
public static class SoftmaxBackwardKernel
{
    public static void Run(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int cols, int log)
    {
        var start = (long)Grid.IdxX * cols;
        var sum = 0f;
        for (var j = Group.IdxX; j < cols; j += GroupReduce.Size)
        {
            sum += log != 0 ? dy[start + j] : dy[start + j] * y[start + j];
        }

        sum = GroupReduce.Sum(sum);
        for (var j = Group.IdxX; j < cols; j += GroupReduce.Size)
        {
            var at = start + j;
            dx[at] = log != 0 ? (MathF.Exp(y[at]) * -sum) + dy[at] : (dy[at] - sum) * y[at];
        }
    }
}
