using Microsoft.Extensions.Logging;
using Salient.Cluster.Worker;
using Salient.Engine.Devices;
using Salient.Storage;

namespace Salient.Cluster.Internal;

/// <summary>
/// Runs one leased shard: keeps the lease renewed, has the job's <see cref="JobKind"/> run its items (explain,
/// eval, pwla: outputs streamed to the blob store, records in the report or written under the fencing token), and completes or
/// fails the shard. A lost lease stops the shard at once and writes nothing more; a
/// hand-back (the worker is stopping) stops it after the current batch and gives the lease back.
/// </summary>
public sealed partial class ShardRunner(IShardLeases store, IBlobStore blobs, ModelCache models, JobDataset datasets, WorkerOptions options, ILogger logger)
    : IShardExecutor
{
    public async Task RunAsync(ShardLease lease, CancellationToken handBack = default)
    {
        using var lost = new CancellationTokenSource();
        using var done = new CancellationTokenSource();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(lost.Token, handBack);
        var keeper = KeepLeaseAsync(lease, lost, done.Token);
        try
        {
            var kind = JobKinds.Get(lease.JobKind);
            // A kind without a model (pwla) gets shards that carry ModelRef.None.
            var model = kind.UsesModel ? await models.GetAsync(lease.Model, Device.Parse(lease.Device), stop.Token).ConfigureAwait(false) : null;
            var shard = new ShardRun(lease, JobSpecs.Read(lease.Spec), model, blobs, datasets, options.BatchSize, store, options.LeaseDuration, lost, stop.Token);
            var report = await kind.RunAsync(shard).ConfigureAwait(false);
            if (await store.CompleteShardAsync(lease, report.ToJson(), CancellationToken.None).ConfigureAwait(false))
            {
                LogCompleted(lease.JobId, lease.Index, report.Items, report.Failed);
            }
            else
            {
                LogLeaseLost(lease.JobId, lease.Index);
            }
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested)
        {
            LogLeaseLost(lease.JobId, lease.Index);
        }
        catch (OperationCanceledException) when (handBack.IsCancellationRequested)
        {
            await HandBackAsync(lease).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogFailed(e, lease.JobId, lease.Index, lease.Attempt);
            await FailAsync(lease, $"{e.GetType().Name}: {e.Message}").ConfigureAwait(false);
        }
        finally
        {
            await done.CancelAsync().ConfigureAwait(false);
            await keeper.ConfigureAwait(false);
        }
    }

    private async Task HandBackAsync(ShardLease lease)
    {
        try
        {
            if (await store.ReleaseShardAsync(lease, CancellationToken.None).ConfigureAwait(false))
            {
                LogHandedBack(lease.JobId, lease.Index);
            }
            else
            {
                LogLeaseLost(lease.JobId, lease.Index);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The job grain is unreachable: the lease expires and the shard is queued again.
            LogFailed(e, lease.JobId, lease.Index, lease.Attempt);
        }
    }

    private async Task FailAsync(ShardLease lease, string error)
    {
        try
        {
            await store.FailShardAsync(lease, error, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The job grain is unreachable: the lease expires and the attempt is recorded.
            LogFailed(e, lease.JobId, lease.Index, lease.Attempt);
        }
    }

    private async Task KeepLeaseAsync(ShardLease lease, CancellationTokenSource lost, CancellationToken done)
    {
        while (true)
        {
            try
            {
                await Task.Delay(options.RenewInterval, done).ConfigureAwait(false);
                if (!await store.RenewLeaseAsync(lease, options.LeaseDuration, done).ConfigureAwait(false))
                {
                    await lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
            catch (OperationCanceledException) when (done.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The store stayed unreachable past its retry window, longer than the lease can be trusted.
                LogFailed(e, lease.JobId, lease.Index, lease.Attempt);
                await lost.CancelAsync().ConfigureAwait(false);
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Job}/{Index} done: {Items} items, {Failed} failed")]
    private partial void LogCompleted(Guid job, int index, int items, int failed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Job}/{Index}: lease lost, stopped")]
    private partial void LogLeaseLost(Guid job, int index);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Job}/{Index} handed back unfinished: the worker is stopping")]
    private partial void LogHandedBack(Guid job, int index);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shard {Job}/{Index} attempt {Attempt} failed")]
    private partial void LogFailed(Exception error, Guid job, int index, int attempt);
}
