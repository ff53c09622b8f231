using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// The input gradient of a row reduction (a <see cref="RowReduction"/> as an int): the row's gradient
/// to every value (Sum, Mean divided by the length), or to the values equal to the row's result, split
/// between ties or, with <c>firstOnly</c>, all to the first. One group of <see cref="GroupReduce.Size"/>
/// threads per row, grid = rows.
/// </summary>
public static class RowReduceBackwardKernel
{
    public static void Run(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int cols, int reduction, int firstOnly)
    {
        var row = Grid.IdxX;
        var start = (long)row * cols;
        var g = dy[row];
        if (reduction is (int)RowReduction.Sum or (int)RowReduction.Mean)
        {
            var value = reduction == (int)RowReduction.Mean ? g * (1f / cols) : g;
            for (var j = Group.IdxX; j < cols; j += GroupReduce.Size)
            {
                dx[start + j] = value;
            }

            return;
        }

        // Ties, and the first of them as a negated index (the group's maximum is the smallest index).
        var extreme = y[row];
        var ties = 0f;
        var first = float.NegativeInfinity;
        for (var j = Group.IdxX; j < cols; j += GroupReduce.Size)
        {
            if (x[start + j] == extreme)
            {
                ties += 1f;
                first = GroupReduce.MaxPropagatingNaN(first, -j);
            }
        }

        ties = GroupReduce.Sum(ties);
        var firstIndex = -GroupReduce.Max(first);
        var share = g / (firstOnly != 0 ? 1f : DeviceActivation.Max(ties, 1f));
        for (var j = Group.IdxX; j < cols; j += GroupReduce.Size)
        {
            var takes = x[start + j] == extreme && (firstOnly == 0 || j == firstIndex);
            dx[start + j] = (takes ? 1f : 0f) * share;
        }
    }
}
