using System.Buffers;
using System.Diagnostics;

namespace Salient.Engine.Memory;

/// <summary>
/// The pool host tensors and the CPU kernels' scratch buffers come from. Small arrays (up to 1 MiB)
/// come from the shared <see cref="ArrayPool{T}"/>; large ones from one free list for every length,
/// which gives out the smallest free array at least as long as asked (best fit) and makes new arrays
/// only a little longer than asked. The shared pool rounds each length up to a power of two, reuses an
/// array only for lengths of the same power, and keeps arrays per thread: a ResNet-50 forward pass at
/// batch 8 made it keep 188 MB of arrays, though at most 60 MB were in use at any one time; here the
/// activations one layer frees serve the next layers' smaller tensors and scratch, and the same pass
/// keeps 93 MB (docs/benchmarks/2026-12-03-weights-memory.md). Arrays left free for a minute go back to
/// the collector (checked whenever one is given back). Thread-safe: a lock guards the free list, taken
/// once per large array, which a kernel call's worth of work uses.
/// </summary>
internal sealed class HostArrayPool : ArrayPool<float>
{
    /// <summary>The pool.</summary>
    public static new HostArrayPool Shared { get; } = new();

    // Lengths above this (1 MiB of floats) come from the free list.
    private const int MaxShared = 1 << 18;

    // New arrays are rounded up to an eighth of their power of two (at most 12.5% longer than asked), so
    // lengths that differ a little (a plane a row longer, another layer's scratch) share them.
    private const int Steps = 8;

    private static readonly long s_idleTicks = Stopwatch.Frequency * 60;

    private readonly Lock _lock = new();

    // Free arrays, shortest first, with when each was given back.
    private readonly List<(float[] Array, long Returned)> _free = [];

    private HostArrayPool()
    {
    }

    /// <summary>An array of at least <paramref name="minimumLength"/> floats; contents unspecified.</summary>
    public override float[] Rent(int minimumLength)
    {
        if (minimumLength <= MaxShared)
        {
            return ArrayPool<float>.Shared.Rent(minimumLength);
        }

        lock (_lock)
        {
            var i = FirstAtLeast(minimumLength);
            if (i < _free.Count)
            {
                var array = _free[i].Array;
                _free.RemoveAt(i);
                return array;
            }
        }

        return GC.AllocateUninitializedArray<float>(RoundUp(minimumLength));
    }

    /// <summary>Takes back an array <see cref="Rent"/> gave out.</summary>
    public override void Return(float[] array, bool clearArray = false)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Length <= MaxShared)
        {
            ArrayPool<float>.Shared.Return(array, clearArray);
            return;
        }

        if (clearArray)
        {
            Array.Clear(array);
        }

        var now = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            _free.RemoveAll(f => now - f.Returned > s_idleTicks);
            _free.Insert(FirstAtLeast(array.Length), (array, now));
        }
    }

    private int FirstAtLeast(int length)
    {
        int lo = 0, hi = _free.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (_free[mid].Array.Length < length)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static int RoundUp(int length)
    {
        var step = (long)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)length) / Steps;
        return (int)Math.Min(Array.MaxLength, (length + step - 1) / step * step);
    }
}
