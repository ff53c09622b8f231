using System.Text.Json.Nodes;

namespace Salient.Cluster;

/// <summary>
/// Where a shard's holder reports: renewals, completion, failure and hand-back, each fenced by the
/// lease's token. The cluster's job grains implement it; every call with a stale lease changes nothing
/// and answers <c>false</c>.
/// </summary>
public interface IShardLeases
{
    /// <summary>Extends the lease; <c>false</c> when it is lost and the holder must stop.</summary>
    Task<bool> RenewLeaseAsync(ShardLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default);

    /// <summary>Completes the shard with its report if the lease still holds it.</summary>
    Task<bool> CompleteShardAsync(ShardLease lease, JsonObject metrics, CancellationToken cancellationToken = default);

    /// <summary>Records the attempt's error: the shard is retried after its backoff or dead-lettered.</summary>
    Task<bool> FailShardAsync(ShardLease lease, string message, CancellationToken cancellationToken = default);

    /// <summary>Gives the shard back unfinished, the attempt not counted.</summary>
    Task<bool> ReleaseShardAsync(ShardLease lease, CancellationToken cancellationToken = default);
}

/// <summary>
/// Runs one leased shard to its end and reports it through <see cref="IShardLeases"/>. The model grain
/// calls it outside its turn; <c>handBack</c> asks it to stop after its current batch and give the shard back.
/// </summary>
public interface IShardExecutor
{
    /// <summary>Runs the shard; never throws for the shard's own failures (they are reported).</summary>
    Task RunAsync(ShardLease lease, CancellationToken handBack = default);
}
