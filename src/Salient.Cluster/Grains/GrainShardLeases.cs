using System.Text.Json.Nodes;
using Salient.Cluster.Contracts;

namespace Salient.Cluster.Grains;

/// <summary>Reports a model grain's shards to their job grains, under each lease's token.</summary>
public sealed class GrainShardLeases(IGrainFactory grains) : IShardLeases
{
    public Task<bool> RenewLeaseAsync(ShardLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default) =>
        Job(lease).RenewAsync(lease.Index, lease.FencingToken);

    public Task<bool> CompleteShardAsync(ShardLease lease, JsonObject metrics, CancellationToken cancellationToken = default) =>
        Job(lease).CompleteAsync(lease.Index, lease.FencingToken, metrics.ToJsonString());

    public Task<bool> FailShardAsync(ShardLease lease, string message, CancellationToken cancellationToken = default) =>
        Job(lease).FailAsync(lease.Index, lease.FencingToken, message);

    public Task<bool> ReleaseShardAsync(ShardLease lease, CancellationToken cancellationToken = default) =>
        Job(lease).ReleaseAsync(lease.Index, lease.FencingToken);

    private IJobGrain Job(ShardLease lease) => grains.GetGrain<IJobGrain>(lease.JobId);
}
