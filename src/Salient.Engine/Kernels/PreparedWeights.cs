using System.Collections.Concurrent;
using Salient.Engine.Devices;

namespace Salient.Engine.Kernels;

/// <summary>
/// Weights a backend keeps in its kernels' own form from one call to the next (a CPU convolution's
/// packed GEMM panels, for one), so that a layer's weights are prepared once per model instead of once
/// per call. Only for weights that stay as they are while the cache lives: a <see cref="Model"/> owns
/// one for its initializers and folded batch norms, shared by all its plans, and hands it to the
/// backend with each convolution; a training model, whose optimizers update weights in place, hands
/// none, and its convolutions prepare their weights per call. Entries are keyed by the weights'
/// buffer (the same object for the life of the model), their range in it, and a form the backend
/// names (which layout, for which kernel); each is made once, on first use, and lives as long as the
/// cache. A backend that keeps nothing ignores it. Thread-safe: concurrent passes of one model share it.
/// </summary>
public sealed class PreparedWeights
{
    private readonly ConcurrentDictionary<(DeviceBuffer Buffer, int Offset, int Length, object Form), Lazy<object>> _entries = new();

    /// <summary>How many prepared forms the cache holds.</summary>
    public int Count => _entries.Count;

    /// <summary>
    /// The <paramref name="form"/> of <paramref name="weights"/> (a value with value equality, such as a
    /// record struct naming the layout), made by <paramref name="prepare"/> the first time it is asked
    /// for, once even when several threads ask at once. What <paramref name="prepare"/> returns belongs
    /// to the cache: callers use it and never dispose it, so it must hold memory the garbage collector
    /// reclaims with the cache (the cache is dropped with its model, never disposed).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="weights"/> is empty: there is no buffer to key on.</exception>
    public T GetOrAdd<T>(BufferView weights, object form, Func<T> prepare)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(form);
        ArgumentNullException.ThrowIfNull(prepare);
        if (weights.Buffer is not { } buffer)
        {
            throw new ArgumentException("Empty weights have no prepared form.", nameof(weights));
        }

        var key = (buffer, weights.Offset, weights.Length, form);
        var entry = _entries.GetOrAdd(key, static (_, make) => new Lazy<object>(make), (Func<object>)prepare);
        try
        {
            return (T)entry.Value;
        }
        catch
        {
            // A failed preparation (out of memory, say) is not cached: the next call tries again.
            _entries.TryRemove(KeyValuePair.Create(key, entry));
            throw;
        }
    }
}
