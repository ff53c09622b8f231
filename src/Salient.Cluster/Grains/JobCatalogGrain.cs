using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Salient.Cluster.Contracts;
using Salient.Cluster.Placement;
using Salient.Cluster.Silo;

namespace Salient.Cluster.Grains;

/// <summary>
/// The list of jobs, newest first, with each job's latest summary; and the worker silos as the membership table
/// and their metadata show them: active until the membership declares the silo dead, with the time of its last
/// heartbeat in the table (every <see cref="SiloSetup.HeartbeatInterval"/>), which stops when its process dies, long
/// before its peers' probes and votes declare it dead. Its state is written when a job is added or changes state;
/// shard counts in between are kept in memory (job grains publish them again after a restart).
/// </summary>
[CoordinatorPlacement]
internal sealed class JobCatalogGrain(
    [PersistentState("catalog", SiloSetup.StateStorage)] IPersistentState<Dictionary<Guid, JobSummary>> catalog,
    IClusterMembershipService membership,
    ISiloMetadataCache metadata) : Grain, IJobCatalogGrain
{
    /// <summary>How long a read of the membership table serves the worker list: a fraction of the heartbeat period.</summary>
    private static readonly TimeSpan HostsRefresh = TimeSpan.FromSeconds(2);

    /// <summary>How long a silo that left the membership view stays listed, as lost, after its last heartbeat.</summary>
    private static readonly TimeSpan ForgetLostAfter = TimeSpan.FromHours(1);

    // The metadata and last heartbeat of every silo seen alive: the cache drops a dead silo's metadata and the table's
    // snapshot the silo itself, and a killed worker should still be listed, as lost, with its last heartbeat.
    private readonly Dictionary<SiloAddress, SeenSilo> _seen = [];
    private Task<MembershipEntry[]>? _hosts;
    private DateTimeOffset _hostsReadAt;

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

    public async Task<IReadOnlyList<WorkerSilo>> ListWorkersAsync()
    {
        var table = (await HostsAsync().ConfigureAwait(true)).ToDictionary(e => e.SiloAddress);
        var leases = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (silo, count) in catalog.State.Values.Where(j => j.State is "queued" or "running").SelectMany(j => j.LeasesBySilo))
        {
            leases[silo] = leases.GetValueOrDefault(silo) + count;
        }

        var workers = new List<WorkerSilo>();
        // The local view keeps dead members for a while and the table's snapshot leaves them out; the table has the
        // heartbeats. A silo seen before that neither lists any more is listed as lost (until it is an hour silent).
        var members = membership.CurrentSnapshot.Members;
        var now = DateTimeOffset.UtcNow;
        foreach (var gone in _seen.Where(s => !members.ContainsKey(s.Key) && now - s.Value.HeartbeatAt > ForgetLostAfter).Select(s => s.Key).ToList())
        {
            _seen.Remove(gone);
        }

        foreach (var (address, name) in members.Values.Select(m => (m.SiloAddress, (string?)m.Name))
            .Concat(_seen.Keys.Where(a => !members.ContainsKey(a)).Select(a => (a, (string?)null))).ToList())
        {
            var status = table.TryGetValue(address, out var entry) ? entry.Status
                : members.TryGetValue(address, out var member) ? member.Status : SiloStatus.Dead;
            var heartbeat = entry is null ? (DateTimeOffset?)null : new DateTimeOffset(DateTime.SpecifyKind(entry.IAmAliveTime, DateTimeKind.Utc));
            IReadOnlyDictionary<string, string> data = metadata.GetSiloMetadata(address).Metadata;
            _seen.TryGetValue(address, out var seen);
            if (data.Count == 0 && seen is not null)
            {
                data = seen.Metadata;
            }

            if (data.Count > 0)
            {
                _seen[address] = seen = new SeenSilo(data, heartbeat ?? seen?.HeartbeatAt ?? DateTimeOffset.UtcNow);
            }

            if (!SiloMetadataKeys.IsWorker(data.GetValueOrDefault(SiloMetadataKeys.Role)))
            {
                continue;
            }

            var silo = address.ToParsableString();
            var models = data.GetValueOrDefault(SiloMetadataKeys.Models) ?? "any";
            workers.Add(new WorkerSilo(silo, data.GetValueOrDefault(SiloMetadataKeys.Name) ?? name ?? silo,
                (data.GetValueOrDefault(SiloMetadataKeys.Devices) ?? "cpu").Split(','),
                models == "any" ? null : models.Split(','),
                int.TryParse(data.GetValueOrDefault(SiloMetadataKeys.Capacity), out var capacity) ? capacity : 1,
                status == SiloStatus.Active ? "active" : "lost",
                seen!.HeartbeatAt,
                leases.GetValueOrDefault(silo)));
        }

        return workers;
    }

    /// <summary>
    /// The membership table as stored, read again at most every <see cref="HostsRefresh"/> (one read shared by
    /// concurrent calls): its heartbeat times are written by each silo, which the local membership view does not refresh.
    /// </summary>
    private Task<MembershipEntry[]> HostsAsync()
    {
        var now = DateTimeOffset.UtcNow;
        if (_hosts is null || (_hosts.IsCompleted && now - _hostsReadAt >= HostsRefresh))
        {
            _hostsReadAt = now;
            _hosts = GrainFactory.GetGrain<IManagementGrain>(0).GetDetailedHosts(onlyActive: false);
        }

        return ReadAsync(_hosts);

        async Task<MembershipEntry[]> ReadAsync(Task<MembershipEntry[]> read)
        {
            try
            {
                return await read.ConfigureAwait(true);
            }
            catch (Exception) when (read == _hosts)
            {
                // A failed read (storage unreachable) is not kept: the next call reads again.
                _hosts = null;
                throw;
            }
        }
    }

    private sealed record SeenSilo(IReadOnlyDictionary<string, string> Metadata, DateTimeOffset HeartbeatAt);
}
