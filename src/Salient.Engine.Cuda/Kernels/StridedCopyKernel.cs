using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// A strided copy, one thread per index: <c>index</c> maps it to its source and destination offsets
/// (merged dimensions, innermost first); with <c>accumulate</c> the value is added atomically, so
/// indices that meet at one place (a broadcast's gradient) all count.
/// </summary>
public static class StridedCopyKernel
{
    public static void Run(Index1D i, ArrayView<float> source, ArrayView<float> destination, BroadcastIndex index, long sourceOffset, long destinationOffset, int accumulate)
    {
        index.Offsets(i, out var from, out var to);
        var value = source[sourceOffset + from];
        if (accumulate != 0)
        {
            Atomic.Add(ref destination[destinationOffset + to], value);
        }
        else
        {
            destination[destinationOffset + to] = value;
        }
    }
}
