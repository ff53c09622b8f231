using System.Text.Json;

namespace Salient.Cluster;

/// <summary>
/// A worker's hold on one shard: what to run, and the lease id and fencing token that every write
/// about the shard must present. A later lease of the same shard always has a larger token.
/// <c>Device</c> is where the model grain that holds it computes (<c>cpu</c>, <c>cuda:0</c>).
/// </summary>
public sealed record ShardLease(
    long ShardId,
    Guid JobId,
    int Index,
    string JobKind,
    JsonElement Spec,
    ModelRef Model,
    int FirstItem,
    IReadOnlyList<string> Items,
    int Attempt,
    int MaxAttempts,
    Guid LeaseId,
    long FencingToken,
    DateTimeOffset ExpiresAt,
    string Device = "cpu");
