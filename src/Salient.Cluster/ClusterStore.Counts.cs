using Salient.Cluster.Internal;

namespace Salient.Cluster;

/// <summary>The whole cluster at a glance, for dashboards and Prometheus.</summary>
/// <param name="Jobs">Jobs per state (lower-case names).</param>
/// <param name="Shards">Shards per state (lower-case names).</param>
/// <param name="ItemsDone">Items of completed shards.</param>
/// <param name="Workers">Workers per state (lower-case names).</param>
/// <param name="LeasesByWorker">Shards each worker holds a lease on now.</param>
public sealed record ClusterCounts(
    IReadOnlyDictionary<string, long> Jobs, IReadOnlyDictionary<string, long> Shards, long ItemsDone,
    IReadOnlyDictionary<string, long> Workers, IReadOnlyDictionary<Guid, int> LeasesByWorker);

// Counts across jobs, shards and workers, read in one snapshot.
public sealed partial class ClusterStore
{
    private const string CountsSql = """
        SELECT 'jobs', state, count(*) FROM jobs GROUP BY state
        UNION ALL SELECT 'shards', state, count(*) FROM shards GROUP BY state
        UNION ALL SELECT 'items', 'done', coalesce(sum(jsonb_array_length(items)), 0) FROM shards WHERE state = 'done'
        UNION ALL SELECT 'workers', state, count(*) FROM workers GROUP BY state
        UNION ALL SELECT 'leases', leased_by::text, count(*) FROM shards WHERE state = 'leased' AND leased_by IS NOT NULL GROUP BY leased_by
        """;

    /// <summary>Jobs, shards and workers by state, items done, and the leases each worker holds.</summary>
    public Task<ClusterCounts> GetCountsAsync(CancellationToken cancellationToken = default) =>
        _database.RunAsync(async (connection, ct) =>
        {
            await using var command = connection.Command(CountsSql);
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            var (jobs, shards, workers) = (new Dictionary<string, long>(), new Dictionary<string, long>(), new Dictionary<string, long>());
            var leases = new Dictionary<Guid, int>();
            long items = 0;
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                var (table, key, count) = (reader.GetString(0), reader.GetString(1), reader.GetInt64(2));
                switch (table)
                {
                    case "jobs": jobs[key] = count; break;
                    case "shards": shards[key] = count; break;
                    case "workers": workers[key] = count; break;
                    case "leases": leases[Guid.Parse(key)] = (int)count; break;
                    default: items = count; break;
                }
            }

            return new ClusterCounts(jobs, shards, items, workers, leases);
        }, cancellationToken);
}
