namespace Salient.Cluster;

/// <summary>The whole cluster at a glance, for dashboards, Prometheus and autoscaling.</summary>
/// <param name="Jobs">Jobs per state (lower-case names).</param>
/// <param name="Shards">Shards per state (lower-case names).</param>
/// <param name="ItemsDone">Items of completed shards.</param>
/// <param name="Workers">Workers per state (lower-case names).</param>
/// <param name="LeasesByWorker">Shards each worker holds a lease on now.</param>
/// <param name="PendingShardsByModel">Queued or leased shards of unfinished jobs, by model key: the work each worker pool has left.</param>
public sealed record ClusterCounts(
    IReadOnlyDictionary<string, long> Jobs, IReadOnlyDictionary<string, long> Shards, long ItemsDone,
    IReadOnlyDictionary<string, long> Workers, IReadOnlyDictionary<Guid, int> LeasesByWorker,
    IReadOnlyDictionary<string, long> PendingShardsByModel);
