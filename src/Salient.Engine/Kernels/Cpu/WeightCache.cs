using Salient.Engine.Devices;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Where one kernel call's weights keep their prepared forms: the model's <see cref="PreparedWeights"/>
/// and the weights' view, its key. The default keeps nothing, and the kernel prepares per call.
/// </summary>
internal readonly struct WeightCache(PreparedWeights? cache, BufferView weights)
{
    /// <summary>Whether prepared forms outlive the call.</summary>
    public bool Keeps => cache is not null && !weights.IsEmpty;

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
