namespace Salient.Cluster;

/// <summary>
/// What the coordinator's API asks of the cluster: jobs, their shards and metrics, workers and counts.
/// Implemented over the job and catalog grains (<see cref="Silo.GrainClusterJobs"/>).
/// </summary>
public interface IClusterJobs
{
    /// <summary>Creates a job and its shards; creating an id that exists changes nothing. Returns the id.</summary>
    Task<Guid> CreateJobAsync(JobRequest request, CancellationToken cancellationToken = default);

    /// <summary>The job with its shard counts, or null.</summary>
    Task<JobInfo?> GetJobAsync(Guid jobId, CancellationToken cancellationToken = default);

    /// <summary>The newest jobs first, optionally only those in <paramref name="state"/>.</summary>
    Task<IReadOnlyList<JobInfo>> ListJobsAsync(JobState? state = null, int limit = 100, CancellationToken cancellationToken = default);

    /// <summary>The job's shards in index order.</summary>
    Task<IReadOnlyList<ShardInfo>> ListShardsAsync(Guid jobId, CancellationToken cancellationToken = default);

    /// <summary>The reports of the job's completed shards, in shard order.</summary>
    Task<IReadOnlyList<ShardMetrics>> GetShardMetricsAsync(Guid jobId, CancellationToken cancellationToken = default);

    /// <summary>Cancels an unfinished job; returns whether this call cancelled it.</summary>
    Task<bool> CancelJobAsync(Guid jobId, CancellationToken cancellationToken = default);

    /// <summary>The workers, by name.</summary>
    Task<IReadOnlyList<WorkerInfo>> ListWorkersAsync(CancellationToken cancellationToken = default);

    /// <summary>Jobs, shards and workers by state, items done, and the leases each worker holds.</summary>
    Task<ClusterCounts> GetCountsAsync(CancellationToken cancellationToken = default);
}
