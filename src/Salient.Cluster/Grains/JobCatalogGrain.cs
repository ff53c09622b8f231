using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Salient.Cluster.Contracts;
using Salient.Cluster.Placement;
using Salient.Cluster.Silo;

namespace Salient.Cluster.Grains;

/// <summary>
/// The list of jobs, newest first, with each job's latest summary; and the worker silos as the membership and
/// their metadata show them. Its state is written when a job is added or changes state; shard counts in
/// between are kept in memory (job grains publish them again after a restart).
/// </summary>
[CoordinatorPlacement]
internal sealed class JobCatalogGrain(
    [PersistentState("catalog", SiloSetup.StateStorage)] IPersistentState<Dictionary<Guid, JobSummary>> catalog,
    IClusterMembershipService membership,
    ISiloMetadataCache metadata) : Grain, IJobCatalogGrain
{
    // The metadata of every silo seen alive: the cache drops a dead silo's, and a killed worker should still be listed, as lost.
    private readonly Dictionary<SiloAddress, IReadOnlyDictionary<string, string>> _seen = [];

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

        var workers = new List<WorkerSilo>();
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            IReadOnlyDictionary<string, string> data = metadata.GetSiloMetadata(member.SiloAddress).Metadata;
            if (data.Count > 0)
            {
                _seen[member.SiloAddress] = data;
            }
            else if (_seen.TryGetValue(member.SiloAddress, out var seen))
            {
                data = seen;
            }

            if (!SiloMetadataKeys.IsWorker(data.GetValueOrDefault(SiloMetadataKeys.Role)))
            {
                continue;
            }

            var silo = member.SiloAddress.ToParsableString();
            var models = data.GetValueOrDefault(SiloMetadataKeys.Models) ?? "any";
            workers.Add(new WorkerSilo(silo, data.GetValueOrDefault(SiloMetadataKeys.Name) ?? member.Name,
                (data.GetValueOrDefault(SiloMetadataKeys.Devices) ?? "cpu").Split(','),
                models == "any" ? null : models.Split(','),
                int.TryParse(data.GetValueOrDefault(SiloMetadataKeys.Capacity), out var capacity) ? capacity : 1,
                member.Status == SiloStatus.Active ? "active" : "lost",
                DateTimeOffset.UtcNow,
                leases.GetValueOrDefault(silo)));
        }

        return Task.FromResult<IReadOnlyList<WorkerSilo>>(workers);
    }
}
