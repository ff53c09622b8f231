using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// Normalises each plane in place (a <see cref="MapNormalization"/> as an int), with the host's
/// arithmetic: one group of <see cref="GroupReduce.Size"/> threads per plane, grid = planes.
/// Min-max subtracts the minimum, then scales by 1/(max − min + eps) (rounding is monotonic, so
/// max − min is the maximum of the shifted plane the host takes); divide-by-max scales by 1/(max + eps).
/// </summary>
public static class NormalizeKernel
{
    public static void Run(ArrayView<float> map, int planeSize, int minMax, float epsilon)
    {
        var start = (long)Grid.IdxX * planeSize;
        var max = float.NegativeInfinity;
        var negatedMin = float.NegativeInfinity;
        for (var j = Group.IdxX; j < planeSize; j += GroupReduce.Size)
        {
            var v = map[start + j];
            max = DeviceActivation.Max(max, v);
            negatedMin = DeviceActivation.Max(negatedMin, -v);
        }

        max = GroupReduce.Max(max);
        var min = minMax != 0 ? -GroupReduce.Max(negatedMin) : 0f;
        var factor = 1f / (max - min + epsilon);
        for (var j = Group.IdxX; j < planeSize; j += GroupReduce.Size)
        {
            map[start + j] = minMax != 0 ? (map[start + j] - min) * factor : map[start + j] * factor;
        }
    }
}
