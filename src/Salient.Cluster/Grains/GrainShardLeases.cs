using System.Text.Json.Nodes;
using Salient.Cluster.Contracts;

namespace Salient.Cluster.Grains;

/// <summary>
/// Reports a silo's shards to their job grains, under each lease's token. Completions are batched per job: one goes
/// at once when no call is on its way, and those that finish meanwhile go together in the next call
/// (<see cref="IJobGrain.CompleteManyAsync"/>), so a busy job grain takes one call per batch instead of one per shard,
/// without a timer; a second call goes beside the first only for a backlog of <see cref="SecondCallBacklog"/>, so the
/// job grain has the next batch waiting when it is busy, and batches stay large when it is not (a call costs both
/// silos CPU whatever it carries). Each completion still gets its own answer (false for a stale token or a repeat).
/// </summary>
public sealed class GrainShardLeases(IGrainFactory grains) : IShardLeases
{
    /// <summary>The most completions one call carries (reports of eval shards hold metric sums of some size).</summary>
    internal const int MaxBatch = 256;

    /// <summary>Completions waiting while a call is on its way that send a second call beside it.</summary>
    internal const int SecondCallBacklog = 32;

    // Per job, the completions not yet sent and the calls on their way; a job is listed while it has calls on their way.
    private readonly Dictionary<Guid, JobReports> _jobs = [];

    public Task<bool> RenewLeaseAsync(ShardLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default) =>
        Job(lease.JobId).RenewAsync(lease.Index, lease.FencingToken);

    public Task<bool> CompleteShardAsync(ShardLease lease, JsonObject metrics, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(metrics);
        var answer = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        JobReports? start = null;
        lock (_jobs)
        {
            if (!_jobs.TryGetValue(lease.JobId, out var reports))
            {
                _jobs[lease.JobId] = reports = new JobReports();
            }

            reports.Waiting.Add((new ShardCompletion(lease.Index, lease.FencingToken, metrics.ToJsonString()), answer));
            if (reports.Calls == 0 || (reports.Calls == 1 && reports.Waiting.Count >= SecondCallBacklog))
            {
                reports.Calls++;
                start = reports;
            }
        }

        if (start is not null)
        {
            _ = SendAsync(lease.JobId, start);
        }

        return answer.Task;
    }

    public Task<bool> FailShardAsync(ShardLease lease, string message, CancellationToken cancellationToken = default) =>
        Job(lease.JobId).FailAsync(lease.Index, lease.FencingToken, message);

    public Task<bool> ReleaseShardAsync(ShardLease lease, CancellationToken cancellationToken = default) =>
        Job(lease.JobId).ReleaseAsync(lease.Index, lease.FencingToken);

    /// <summary>One call's loop: sends the job's waiting completions, a batch per call, until none is left.</summary>
    private async Task SendAsync(Guid job, JobReports reports)
    {
        while (true)
        {
            List<(ShardCompletion Completion, TaskCompletionSource<bool> Answer)> batch;
            lock (_jobs)
            {
                if (reports.Waiting.Count == 0)
                {
                    if (--reports.Calls == 0)
                    {
                        _jobs.Remove(job);
                    }

                    return;
                }

                var count = Math.Min(reports.Waiting.Count, MaxBatch);
                batch = reports.Waiting[..count];
                reports.Waiting.RemoveRange(0, count);
            }

            try
            {
                var accepted = await Job(job).CompleteManyAsync([.. batch.Select(b => b.Completion)]).ConfigureAwait(false);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Answer.TrySetResult(accepted[i]);
                }
            }
            catch (Exception e)
            {
                // Each reporter sees the failure as its own call's (its shard's lease then expires and it runs again).
                batch.ForEach(b => b.Answer.TrySetException(e));
            }
        }
    }

    private IJobGrain Job(Guid job) => grains.GetGrain<IJobGrain>(job);

    private sealed class JobReports
    {
        public List<(ShardCompletion Completion, TaskCompletionSource<bool> Answer)> Waiting { get; } = [];

        public int Calls { get; set; }
    }
}
