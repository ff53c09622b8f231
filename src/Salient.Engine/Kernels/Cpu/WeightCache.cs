using System.Buffers;
using Salient.Engine.Devices;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// One kernel call's weights and where they keep their prepared forms: the model's
/// <see cref="PreparedWeights"/>, keyed by the weights' view, or none (the default keeps nothing, and
/// the kernel prepares per call). Kernels read the weights themselves (<see cref="Pin"/>) only to prepare
/// a form or where they use them as they are: weights folded with a batch norm are computed when read
/// (<see cref="Salient.Engine.Memory.ChannelScaledMemory"/>), so a call whose forms are kept reads nothing.
/// </summary>
internal readonly struct WeightCache(PreparedWeights? cache, BufferView weights)
{
    /// <summary>Whether prepared forms outlive the call.</summary>
    public bool Keeps => cache is not null && !weights.IsEmpty;

    /// <summary>How many weights there are (without reading them).</summary>
    public int Length => weights.Length;

    /// <summary>
    /// The weights, pinned until the handle is disposed (its pointer is where they start); computed
    /// now if they are folded, so read them only where needed.
    /// </summary>
    public MemoryHandle Pin() => weights.Buffer switch
    {
        null => default,
        CpuBuffer cpu => cpu.Memory.Slice(weights.Offset, weights.Length).Pin(),
        _ => throw new InvalidOperationException($"Weights on {weights.Device} are not host memory."),
    };

    /// <summary>
    /// The <paramref name="form"/> from the cache, made by <paramref name="prepare"/> on first use; it
    /// belongs to the cache (never dispose it) and must hold garbage-collected memory. Only when <see cref="Keeps"/>.
    /// </summary>
    public T Get<T>(object form, Func<T> prepare)
        where T : class
    {
        if (cache is null)
        {
            throw new InvalidOperationException("This call keeps no prepared weights.");
        }

        return cache.GetOrAdd(weights, form, prepare);
    }
}
