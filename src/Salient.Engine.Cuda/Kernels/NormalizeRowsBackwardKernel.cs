using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// The input gradient of a row normalisation, recomputing its statistics: with g = dy·scale and x̂ the
/// normalised row, dx = (g − mean g − x̂·mean(g·x̂))/σ. One group of <see cref="GroupReduce.Size"/> threads
/// per row, grid = rows.
/// </summary>
public static class NormalizeRowsBackwardKernel
{
    public static void Run(ArrayView<float> x, ArrayView<float> scale, ArrayView<float> dy, ArrayView<float> dx, RowNormalization n)
    {
        n.Statistics(x, out var row, out var start, out var mean, out var rstd);
        float sumG = 0f, sumGx = 0f;
        for (var j = Group.IdxX; j < n.Cols; j += GroupReduce.Size)
        {
            var g = dy[start + j] * n.Scale(scale, row, j);
            sumG += g;
            sumGx += g * (x[start + j] - mean) * rstd;
        }

        var meanG = GroupReduce.Sum(sumG) / n.Cols;
        var meanGx = GroupReduce.Sum(sumGx) / n.Cols;
        for (var j = Group.IdxX; j < n.Cols; j += GroupReduce.Size)
        {
            var g = dy[start + j] * n.Scale(scale, row, j);
            dx[start + j] = (g - meanG - ((x[start + j] - mean) * rstd * meanGx)) * rstd;
        }
    }
}
