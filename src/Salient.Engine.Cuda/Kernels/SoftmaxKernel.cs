using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>Row softmax shifted by the row maximum: one group of <see cref="GroupReduce.Size"/> threads per row, grid = rows.</summary>
public static class SoftmaxKernel
{
    public static void Run(ArrayView<float> x, ArrayView<float> y, int cols)
    {
        var start = (long)Grid.IdxX * cols;
        var max = GroupReduce.RowMax(x, start, cols);
        var sum = 0f;
        for (var j = Group.IdxX; j < cols; j += GroupReduce.Size)
        {
            var e = MathF.Exp(x[start + j] - max);
            y[start + j] = e;
            sum += e;
        }

        var scale = 1f / GroupReduce.Sum(sum);
        for (var j = Group.IdxX; j < cols; j += GroupReduce.Size)
        {
            y[start + j] *= scale;
        }
    }
}
