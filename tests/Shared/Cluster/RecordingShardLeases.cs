using System.Text.Json.Nodes;
using Salient.Cluster;

namespace Salient.Tests;

/// <summary>A lease store for running one shard outside a cluster: it always renews, and keeps how the shard ended.</summary>
public sealed class RecordingShardLeases : IShardLeases
{
    /// <summary>The completed shard's report; null until it completes.</summary>
    public JsonObject? Report { get; private set; }

    /// <summary>Whether the shard completed.</summary>
    public bool Completed => Report is not null;

    /// <summary>The failed attempt's message; null unless it failed.</summary>
    public string? Failure { get; private set; }

    public Task<bool> RenewLeaseAsync(ShardLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default) => Task.FromResult(true);

    public Task<bool> CompleteShardAsync(ShardLease lease, JsonObject metrics, CancellationToken cancellationToken = default)
    {
        Report = metrics;
        return Task.FromResult(true);
    }

    public Task<bool> FailShardAsync(ShardLease lease, string message, CancellationToken cancellationToken = default)
    {
        Failure = message;
        return Task.FromResult(true);
    }

    public Task<bool> ReleaseShardAsync(ShardLease lease, CancellationToken cancellationToken = default) => Task.FromResult(true);
}
