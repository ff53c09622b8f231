using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// Truncates each segment's positive values at τ, the q-quantile of its positive values (a
/// <see cref="QuantileTruncation"/> as an int: ceil when 1): one group of <see cref="GroupReduce.Size"/>
/// threads per segment, grid = segments. The two order statistics τ interpolates between are found
/// by radix selection: positive floats order as their bit patterns do, so four passes, each a
/// 256-bin histogram of the next 8 bits among the values that share the bits found so far, find
/// the value of a given rank exactly; τ is then the host's interpolation of the same two values.
/// </summary>
public static class TruncatePositivesKernel
{
    private const int Bins = 256;

    public static void Run(ArrayView<float> values, int segmentLength, int ceil, float quantile)
    {
        var start = (long)Grid.IdxX * segmentLength;
        var histogram = SharedMemory.Allocate<int>(Bins);

        // state[0]: the bits selected so far, state[1]: the rank left within them, state[2]: the positive count.
        var state = SharedMemory.Allocate<int>(3);
        if (Group.IdxX == 0)
        {
            state[2] = 0;
        }

        Group.Barrier();
        var positives = 0;
        for (var j = Group.IdxX; j < segmentLength; j += GroupReduce.Size)
        {
            if (values[start + j] > 0f)
            {
                positives++;
            }
        }

        Atomic.Add(ref state[2], positives);
        Group.Barrier();
        var count = state[2];
        if (count == 0)
        {
            return;
        }

        // As the host: position = q·(n − 1), interpolating between ranks ⌊position⌋ and the next (q ≥ 0, so the cast floors).
        var position = quantile * (count - 1);
        var lower = (int)position;
        var upper = lower + 1 < count ? lower + 1 : count - 1;
        var low = Select(values, start, segmentLength, lower, histogram, state);
        var high = Select(values, start, segmentLength, upper, histogram, state);
        var tau = low + ((high - low) * (position - lower));
        for (var j = Group.IdxX; j < segmentLength; j += GroupReduce.Size)
        {
            var g = values[start + j];
            if (g > 0f)
            {
                values[start + j] = ceil != 0 ? DeviceActivation.Min(g, tau) : g < tau ? 0f : g;
            }
        }
    }

    // The positive value of the segment of the given rank (0: the smallest), every thread getting it.
    private static float Select(ArrayView<float> values, long start, int length, int rank, ArrayView<int> histogram, ArrayView<int> state)
    {
        if (Group.IdxX == 0)
        {
            state[0] = 0;
            state[1] = rank;
        }

        for (var shift = 24; shift >= 0; shift -= 8)
        {
            for (var b = Group.IdxX; b < Bins; b += GroupReduce.Size)
            {
                histogram[b] = 0;
            }

            Group.Barrier();
            var prefix = state[0];
            // The bits above this pass's 8 (none in the first pass; a shift by 32 would shift by 0).
            var known = shift == 24 ? 0 : -(1 << (shift + 8));
            for (var j = Group.IdxX; j < length; j += GroupReduce.Size)
            {
                var v = values[start + j];
                if (v > 0f)
                {
                    var bits = (int)Interop.FloatAsInt(v);
                    if ((bits & known) == prefix)
                    {
                        Atomic.Add(ref histogram[(bits >> shift) & (Bins - 1)], 1);
                    }
                }
            }

            Group.Barrier();
            if (Group.IdxX == 0)
            {
                var remaining = state[1];
                var bin = 0;
                while (remaining >= histogram[bin])
                {
                    remaining -= histogram[bin];
                    bin++;
                }

                state[0] = prefix | (bin << shift);
                state[1] = remaining;
            }

            Group.Barrier();
        }

        var value = Interop.IntAsFloat((uint)state[0]);
        // Every thread has read the state before the next selection overwrites it.
        Group.Barrier();
        return value;
    }
}
