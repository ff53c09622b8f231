using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Salient.Cluster.Contracts;

namespace Salient.Cluster.Silo;

/// <summary>
/// The worker silos as this silo sees them: the membership table read directly (it holds each silo's heartbeat,
/// written every <see cref="SiloSetup.HeartbeatInterval"/>, which stops when its process dies, long before its peers'
/// probes and votes declare it dead), the local membership view and the silos' metadata. A silo service, not grain
/// state: it answers without calling any other silo, so a killed worker cannot stall the list, and it remembers every
/// worker it has seen across reactivations of the grain that asks, so a killed worker is listed, as lost, after the
/// metadata cache and the table's snapshot have dropped it.
/// </summary>
internal sealed class WorkerRoster(IMembershipTable table, IClusterMembershipService membership, ISiloMetadataCache metadata)
{
    /// <summary>How long a read of the membership table serves the list: a fraction of the heartbeat period.</summary>
    private static readonly TimeSpan TableRefresh = TimeSpan.FromSeconds(2);

    /// <summary>How long a silo that left the membership view stays listed, as lost, after its last heartbeat.</summary>
    private static readonly TimeSpan ForgetLostAfter = TimeSpan.FromHours(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<SiloAddress, SeenSilo> _seen = [];
    private Task<MembershipTableData>? _read;
    private DateTimeOffset _readAt;

    /// <summary>The worker silos, each with its shards in flight from <paramref name="leasesBySilo"/>.</summary>
    public async Task<IReadOnlyList<WorkerSilo>> ListAsync(IReadOnlyDictionary<string, int> leasesBySilo)
    {
        var entries = (await ReadTableAsync().ConfigureAwait(false)).Members.Select(m => m.Item1).ToDictionary(e => e.SiloAddress);
        var members = membership.CurrentSnapshot.Members;
        var now = DateTimeOffset.UtcNow;
        var workers = new List<WorkerSilo>();
        lock (_gate)
        {
            foreach (var gone in _seen.Where(s => !members.ContainsKey(s.Key) && now - s.Value.HeartbeatAt > ForgetLostAfter).Select(s => s.Key).ToList())
            {
                _seen.Remove(gone);
            }

            foreach (var (address, name) in members.Values.Select(m => (m.SiloAddress, (string?)m.Name))
                .Concat(_seen.Keys.Where(a => !members.ContainsKey(a)).Select(a => (a, (string?)null))).ToList())
            {
                var status = entries.TryGetValue(address, out var entry) ? entry.Status
                    : members.TryGetValue(address, out var member) ? member.Status : SiloStatus.Dead;
                DateTimeOffset? heartbeat = entry is null ? null : new DateTimeOffset(DateTime.SpecifyKind(entry.IAmAliveTime, DateTimeKind.Utc));
                IReadOnlyDictionary<string, string> data = metadata.GetSiloMetadata(address).Metadata;
                _seen.TryGetValue(address, out var seen);
                if (data.Count == 0 && seen is not null)
                {
                    data = seen.Metadata;
                }

                if (data.Count > 0)
                {
                    _seen[address] = seen = new SeenSilo(data, heartbeat ?? seen?.HeartbeatAt ?? now);
                }

                if (seen is null || !SiloMetadataKeys.IsWorker(data.GetValueOrDefault(SiloMetadataKeys.Role)))
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
                    seen.HeartbeatAt,
                    leasesBySilo.GetValueOrDefault(silo)));
            }
        }

        return workers;
    }

    /// <summary>The membership table as stored, read again at most every <see cref="TableRefresh"/> (one read shared by concurrent calls).</summary>
    private Task<MembershipTableData> ReadTableAsync()
    {
        Task<MembershipTableData> read;
        lock (_gate)
        {
            var now = DateTimeOffset.UtcNow;
            if (_read is null || (_read.IsCompleted && now - _readAt >= TableRefresh))
            {
                _readAt = now;
                _read = table.ReadAllAsync();
            }

            read = _read;
        }

        return AwaitAsync(read);

        async Task<MembershipTableData> AwaitAsync(Task<MembershipTableData> pending)
        {
            try
            {
                return await pending.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // A failed read (storage unreachable) is not kept: the next call reads again.
                lock (_gate)
                {
                    if (_read == pending)
                    {
                        _read = null;
                    }
                }

                throw;
            }
        }
    }

    private sealed record SeenSilo(IReadOnlyDictionary<string, string> Metadata, DateTimeOffset HeartbeatAt);
}
