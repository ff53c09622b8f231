using System.Runtime.CompilerServices;
using Salient.Engine.Devices;

namespace Salient.Methods.Pipeline;

/// <summary>
/// Loads a run's batches one ahead: while the caller computes on batch n, batch n+1 is read and decoded on a
/// thread-pool thread, so a GPU does not wait for the CPU's decoding between batches. At most one batch is
/// loaded ahead (memory stays at two batches), and the batches come in chunk order, each exactly as loading it
/// just before its turn would give it: the records and outputs of a run do not depend on loading ahead. A load
/// that fails as a whole (not one input: an input's failure is its error in the batch) fails the run at that
/// batch, after the earlier ones were computed, as it does without loading ahead.
/// <para>
/// Ownership: each batch yielded is the caller's to dispose. A batch loaded ahead that the caller never receives
/// (it stopped early: a break, an exception, cancellation) is disposed by the enumeration itself when that is
/// disposed (a <c>foreach</c> does it), once its load has ended; that load's own failure is then dropped, since the
/// run already stopped for another reason.
/// </para>
/// </summary>
public static class BatchPrefetch
{
    /// <summary>
    /// Whether a model on <paramref name="device"/> loads its batches ahead by default: on for a device backend (the
    /// GPU computes while the CPU decodes), off for the CPU backend, whose kernels already use every core, so that
    /// decoding beside them only takes turns on the same cores (docs/architecture.md, "Loading batches ahead", has
    /// the measurement).
    /// </summary>
    public static bool DefaultFor(Device device) => !device.IsCpu;

    /// <summary>
    /// <paramref name="load"/>(chunk) for each of <paramref name="chunks"/>, in order; with <paramref name="ahead"/>
    /// the next chunk's load runs on the thread pool while the caller works on the current one.
    /// </summary>
    public static IEnumerable<(TChunk Chunk, TBatch Batch)> Load<TChunk, TBatch>(IEnumerable<TChunk> chunks, Func<TChunk, TBatch> load, bool ahead)
        where TBatch : IDisposable
    {
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(load);
        // The asynchronous enumeration, waited on: disposing this one disposes it, which frees a batch loaded ahead.
        return LoadAsync(chunks, (chunk, _) => Task.FromResult(load(chunk)), ahead).ToBlockingEnumerable();
    }

    /// <summary>
    /// The asynchronous <see cref="Load{TChunk, TBatch}"/>: <paramref name="load"/>(chunk, token) for each chunk, in order,
    /// the next one started on the thread pool while the caller works on the current one when <paramref name="ahead"/>.
    /// Cancelling <paramref name="cancellationToken"/> stops the loads and the enumeration.
    /// </summary>
    public static async IAsyncEnumerable<(TChunk Chunk, TBatch Batch)> LoadAsync<TChunk, TBatch>(IEnumerable<TChunk> chunks,
        Func<TChunk, CancellationToken, Task<TBatch>> load, bool ahead, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TBatch : IDisposable
    {
        ArgumentNullException.ThrowIfNull(chunks);
        ArgumentNullException.ThrowIfNull(load);
        if (!ahead)
        {
            foreach (var chunk in chunks)
            {
                yield return (chunk, await load(chunk, cancellationToken).ConfigureAwait(false));
            }

            yield break;
        }

        using var next = chunks.GetEnumerator();
        Task<TBatch>? pending = null;
        var upcoming = default(TChunk)!;
        Task<TBatch> Start(TChunk chunk) => Task.Run(() => load(chunk, cancellationToken), cancellationToken);
        if (next.MoveNext())
        {
            upcoming = next.Current;
            pending = Start(upcoming);
        }

        try
        {
            while (pending is not null)
            {
                var batch = await pending.ConfigureAwait(false);
                pending = null;
                var current = upcoming;
                try
                {
                    if (next.MoveNext())
                    {
                        upcoming = next.Current;
                        pending = Start(upcoming);
                    }
                }
                catch
                {
                    batch.Dispose();
                    throw;
                }

                yield return (current, batch);
            }
        }
        finally
        {
            if (pending is not null)
            {
                await DisposeUnusedAsync(pending).ConfigureAwait(false);
            }
        }
    }

    // A batch loaded ahead for a caller that stopped: waited for (its decode must not outlive the run), then freed.
    private static async Task DisposeUnusedAsync<TBatch>(Task<TBatch> pending)
        where TBatch : IDisposable
    {
        try
        {
            (await pending.ConfigureAwait(false)).Dispose();
        }
#pragma warning disable CA1031 // The run stopped for another reason already; the failure of a batch nobody uses is not news.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
