using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// A contraction, one thread per output value: <c>kept</c> maps it to its first offsets in a and b,
/// <c>summed</c> walks the summed axes from there (<c>count</c> of them), adding a·b (a alone without b).
/// </summary>
public static class ContractKernel
{
    public static void Run(Index1D i, ArrayView<float> a, ArrayView<float> b, ArrayView<float> y, BroadcastIndex kept, BroadcastIndex summed, long count, int hasB)
    {
        kept.Offsets(i, out var startA, out var startB);
        var sum = 0f;
        for (long s = 0; s < count; s++)
        {
            summed.Offsets(s, out var offsetA, out var offsetB);
            var product = a[startA + offsetA];
            if (hasB != 0)
            {
                product *= b[startB + offsetB];
            }

            sum += product;
        }

        y[i] = sum;
    }
}
