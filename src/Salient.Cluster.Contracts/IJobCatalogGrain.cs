using Orleans.Concurrency;

namespace Salient.Cluster.Contracts;

/// <summary>The cluster's list of jobs (one grain, key 0) and its worker silos.</summary>
public interface IJobCatalogGrain : IGrainWithIntegerKey
{
    /// <summary>Records a job's latest summary (its job grain calls this when the job changes).</summary>
    Task UpdateAsync(JobSummary summary);

    /// <summary>The newest jobs first, optionally only those in <paramref name="state"/>.</summary>
    Task<IReadOnlyList<JobSummary>> ListAsync(string? state, int limit);

    /// <summary>
    /// The worker silos of the membership with their metadata, last heartbeat and the leases they hold. Interleaves
    /// with job updates, which need not wait for its read of the membership table.
    /// </summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<WorkerSilo>> ListWorkersAsync();
}
