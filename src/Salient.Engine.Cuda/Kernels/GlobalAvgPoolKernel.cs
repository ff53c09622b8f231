using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>The mean of each plane: one group of <see cref="GroupReduce.Size"/> threads per plane, grid = planes.</summary>
public static class GlobalAvgPoolKernel
{
    public static void Run(ArrayView<float> x, ArrayView<float> y, int planeSize)
    {
        var plane = Grid.IdxX;
        var start = (long)plane * planeSize;
        var sum = 0f;
        for (var j = Group.IdxX; j < planeSize; j += GroupReduce.Size)
        {
            sum += x[start + j];
        }

        sum = GroupReduce.Sum(sum);
        if (Group.IsFirstThread)
        {
            y[plane] = sum / planeSize;
        }
    }
}
