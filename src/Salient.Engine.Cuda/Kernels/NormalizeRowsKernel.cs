using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// Layer and instance normalisation: each row to zero mean and unit variance, then scaled and shifted
/// (<see cref="RowNormalization"/>); x and y may be the same view. One group of <see cref="GroupReduce.Size"/>
/// threads per row, grid = rows.
/// </summary>
public static class NormalizeRowsKernel
{
    public static void Run(ArrayView<float> x, ArrayView<float> scale, ArrayView<float> bias, ArrayView<float> y, RowNormalization n)
    {
        n.Statistics(x, out var row, out var start, out var mean, out var rstd);
        for (var j = Group.IdxX; j < n.Cols; j += GroupReduce.Size)
        {
            y[start + j] = ((x[start + j] - mean) * rstd * n.Scale(scale, row, j)) + n.Bias(bias, row, j);
        }
    }
}
