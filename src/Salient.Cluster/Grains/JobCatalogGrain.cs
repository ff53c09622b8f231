using Salient.Cluster.Contracts;
using Salient.Cluster.Placement;
using Salient.Cluster.Silo;

namespace Salient.Cluster.Grains;

/// <summary>
/// The list of jobs, newest first, with each job's latest summary; and the worker silos, as this coordinator's
/// <see cref="WorkerRoster"/> sees them, with their shards in flight. Its state is written when a job is added or
/// changes state; shard counts in between are kept in memory (job grains publish them again after a restart).
/// </summary>
[CoordinatorPlacement]
internal sealed class JobCatalogGrain(
    [PersistentState("catalog", SiloSetup.StateStorage)] IPersistentState<Dictionary<Guid, JobSummary>> catalog,
    WorkerRoster workers) : Grain, IJobCatalogGrain
{
    public async Task UpdateAsync(JobSummary summary)
    {
        ArgumentNullException.ThrowIfNull(summary);
        var changed = !catalog.State.TryGetValue(summary.Id, out var last) || last.State != summary.State;
        catalog.State[summary.Id] = summary;
        if (changed)
        {
            await catalog.WriteStateAsync().ConfigureAwait(true);
        }
    }

    public Task<IReadOnlyList<JobSummary>> ListAsync(string? state, int limit) =>
        Task.FromResult<IReadOnlyList<JobSummary>>([.. catalog.State.Values
            .Where(j => state is null || j.State == state)
            .OrderByDescending(j => j.CreatedAt).ThenBy(j => j.Id)
            .Take(limit)]);

    public Task<IReadOnlyList<WorkerSilo>> ListWorkersAsync()
    {
        var leases = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (silo, count) in catalog.State.Values.Where(j => j.State is "queued" or "running").SelectMany(j => j.LeasesBySilo))
        {
            leases[silo] = leases.GetValueOrDefault(silo) + count;
        }

        return workers.ListAsync(leases);
    }
}
