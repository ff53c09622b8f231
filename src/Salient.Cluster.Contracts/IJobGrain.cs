namespace Salient.Cluster.Contracts;

/// <summary>
/// One job (keyed by its id): owns the shard table, assigns shards to model grains under lease tokens,
/// takes their reports, and writes the job's manifest and metrics when every shard has finished.
/// </summary>
public interface IJobGrain : IGrainWithGuidKey
{
    /// <summary>Starts the job; a second call with the same id changes nothing. Returns the job as it stands.</summary>
    Task<JobSnapshot> SubmitAsync(JobPlan plan);

    /// <summary>The job with its shard counts, or null when no job has this id.</summary>
    Task<JobSnapshot?> GetAsync();

    /// <summary>Cancels a job that has not finished; returns whether this call cancelled it.</summary>
    Task<bool> CancelAsync();

    /// <summary>The job's shards in index order.</summary>
    Task<IReadOnlyList<ShardSnapshot>> ListShardsAsync();

    /// <summary>The reports of the completed shards, in index order.</summary>
    Task<IReadOnlyList<ShardMetricsRecord>> GetShardMetricsAsync();

    /// <summary>Extends the lease that <paramref name="token"/> names; false when it is no longer the shard's lease.</summary>
    Task<bool> RenewAsync(int index, long token);

    /// <summary>Completes the shard with its report if <paramref name="token"/> still holds it; a stale token changes nothing.</summary>
    Task<bool> CompleteAsync(int index, long token, string report);

    /// <summary>
    /// Completes several shards in one call, each as <see cref="CompleteAsync"/> would: a stale token or a shard
    /// completed before (a repeat) changes nothing. Returns which were accepted, in order.
    /// </summary>
    Task<bool[]> CompleteManyAsync(IReadOnlyList<ShardCompletion> completions);

    /// <summary>Records a failed attempt: the shard is retried after its backoff or dead-lettered.</summary>
    Task<bool> FailAsync(int index, long token, string message);

    /// <summary>Hands the shard back unfinished (a stopping worker): queued again at once, the attempt not counted.</summary>
    Task<bool> ReleaseAsync(int index, long token);
}
