using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// Tree reductions across one group of <see cref="Size"/> threads through shared memory; every
/// thread gets the result. Callers launch groups of exactly <see cref="Size"/> threads.
/// </summary>
public static class GroupReduce
{
    public const int Size = 256;

    public static float Sum(float value)
    {
        var shared = SharedMemory.Allocate<float>(Size);
        var t = Group.IdxX;
        shared[t] = value;
        Group.Barrier();
        for (var half = Size / 2; half > 0; half >>= 1)
        {
            if (t < half)
            {
                shared[t] += shared[t + half];
            }

            Group.Barrier();
        }

        var result = shared[0];
        Group.Barrier();
        return result;
    }

    /// <summary>The maximum, NaN if any value is NaN (as <see cref="Math.Max(float, float)"/> on the CPU).</summary>
    public static float Max(float value)
    {
        var shared = SharedMemory.Allocate<float>(Size);
        var t = Group.IdxX;
        shared[t] = value;
        Group.Barrier();
        for (var half = Size / 2; half > 0; half >>= 1)
        {
            if (t < half)
            {
                shared[t] = MaxPropagatingNaN(shared[t], shared[t + half]);
            }

            Group.Barrier();
        }

        var result = shared[0];
        Group.Barrier();
        return result;
    }

    /// <summary>The maximum of the <paramref name="cols"/> values from <paramref name="start"/>, NaN if any is NaN, across the group.</summary>
    public static float RowMax(ArrayView<float> x, long start, int cols)
    {
        var max = float.NegativeInfinity;
        for (var j = Group.IdxX; j < cols; j += Size)
        {
            max = MaxPropagatingNaN(x[start + j], max);
        }

        return Max(max);
    }

    /// <summary>max(a, b), NaN when either is NaN (PTX's max.f32 would return the other operand).</summary>
    public static float MaxPropagatingNaN(float a, float b) => DeviceActivation.Max(a, b);
}
