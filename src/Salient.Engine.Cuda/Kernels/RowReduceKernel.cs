using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>Reduces each row (a <see cref="RowReduction"/> as an int): one group of <see cref="GroupReduce.Size"/> threads per row, grid = rows.</summary>
public static class RowReduceKernel
{
    public static void Run(ArrayView<float> x, ArrayView<float> y, int cols, int reduction)
    {
        var row = Grid.IdxX;
        var start = (long)row * cols;
        var extreme = reduction is (int)RowReduction.Max or (int)RowReduction.Min;
        var sign = reduction == (int)RowReduction.Min ? -1f : 1f;
        var value = extreme ? float.NegativeInfinity : 0f;
        for (var j = Group.IdxX; j < cols; j += GroupReduce.Size)
        {
            value = extreme ? GroupReduce.MaxPropagatingNaN(value, sign * x[start + j]) : value + x[start + j];
        }

        value = extreme ? sign * GroupReduce.Max(value) : GroupReduce.Sum(value);
        if (Group.IsFirstThread)
        {
            y[row] = reduction == (int)RowReduction.Mean ? value / cols : value;
        }
    }
}
