namespace Salient.Cluster.Contracts;

/// <summary>A job as its grain starts it: what to run on which items, cut into shards.</summary>
[GenerateSerializer, Immutable]
public sealed record JobPlan(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Kind,
    [property: Id(2)] string Spec,
    [property: Id(3)] ModelAddress Model,
    [property: Id(4)] IReadOnlyList<string> Items,
    [property: Id(5)] int ShardSize,
    [property: Id(6)] int Priority,
    [property: Id(7)] int MaxAttempts);

/// <summary>Where a model is kept: its key, blob and digest; the key <c>(none)</c> for jobs without a model.</summary>
[GenerateSerializer, Immutable]
public sealed record ModelAddress([property: Id(0)] string Key, [property: Id(1)] string Uri, [property: Id(2)] string Sha256);

/// <summary>A shard assigned to a model grain under a lease token.</summary>
[GenerateSerializer, Immutable]
public sealed record ShardWork(
    [property: Id(0)] Guid JobId,
    [property: Id(1)] int Index,
    [property: Id(2)] string Kind,
    [property: Id(3)] string Spec,
    [property: Id(4)] ModelAddress Model,
    [property: Id(5)] int FirstItem,
    [property: Id(6)] IReadOnlyList<string> Items,
    [property: Id(7)] int Attempt,
    [property: Id(8)] int MaxAttempts,
    [property: Id(9)] long Token,
    [property: Id(10)] int Priority,
    [property: Id(11)] DateTimeOffset SubmittedAt,
    [property: Id(12)] DateTimeOffset LeaseExpiresAt);

/// <summary>A shard's completion: the shard, the lease token it ran under, and its report (JSON).</summary>
[GenerateSerializer, Immutable]
public sealed record ShardCompletion([property: Id(0)] int Index, [property: Id(1)] long Token, [property: Id(2)] string Report);

/// <summary>How many of a job's shards are in each state.</summary>
[GenerateSerializer, Immutable]
public sealed record ShardCountsRecord(
    [property: Id(0)] int Queued, [property: Id(1)] int Leased, [property: Id(2)] int Done, [property: Id(3)] int Dead, [property: Id(4)] int Cancelled);

/// <summary>A job as its grain holds it.</summary>
[GenerateSerializer, Immutable]
public sealed record JobSnapshot(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string Kind,
    [property: Id(2)] string Spec,
    [property: Id(3)] ModelAddress Model,
    [property: Id(4)] string State,
    [property: Id(5)] int Priority,
    [property: Id(6)] int MaxAttempts,
    [property: Id(7)] int TotalShards,
    [property: Id(8)] int TotalItems,
    [property: Id(9)] ShardCountsRecord Shards,
    [property: Id(10)] string? Metrics,
    [property: Id(11)] string? Error,
    [property: Id(12)] DateTimeOffset CreatedAt,
    [property: Id(13)] DateTimeOffset UpdatedAt,
    [property: Id(14)] DateTimeOffset? FinishedAt,
    [property: Id(15)] string? Waiting);

/// <summary>What the catalog keeps of a job: enough to list, filter and count (pending shards per model too).</summary>
[GenerateSerializer, Immutable]
public sealed record JobSummary(
    [property: Id(0)] Guid Id,
    [property: Id(1)] string State,
    [property: Id(2)] DateTimeOffset CreatedAt,
    [property: Id(3)] ShardCountsRecord Shards,
    [property: Id(4)] int ItemsDone,
    [property: Id(5)] IReadOnlyDictionary<string, int> LeasesBySilo,
    [property: Id(6)] string? Model = null);

/// <summary>One failed attempt of a shard.</summary>
[GenerateSerializer, Immutable]
public sealed record ShardErrorRecord([property: Id(0)] int Attempt, [property: Id(1)] string? Holder, [property: Id(2)] DateTimeOffset At, [property: Id(3)] string Message);

/// <summary>A shard as its job grain holds it.</summary>
[GenerateSerializer, Immutable]
public sealed record ShardSnapshot(
    [property: Id(0)] int Index,
    [property: Id(1)] int FirstItem,
    [property: Id(2)] IReadOnlyList<string> Items,
    [property: Id(3)] string State,
    [property: Id(4)] int Attempt,
    [property: Id(5)] int MaxAttempts,
    [property: Id(6)] string? Holder,
    [property: Id(7)] DateTimeOffset? LeaseExpiresAt,
    [property: Id(8)] DateTimeOffset NotBefore,
    [property: Id(9)] IReadOnlyList<ShardErrorRecord> Errors,
    [property: Id(10)] long Token);

/// <summary>A completed shard's report (JSON).</summary>
[GenerateSerializer, Immutable]
public sealed record ShardMetricsRecord([property: Id(0)] int Index, [property: Id(1)] string Report);

/// <summary>A worker silo as the membership table and its metadata show it, with its last heartbeat in the table.</summary>
[GenerateSerializer, Immutable]
public sealed record WorkerSilo(
    [property: Id(0)] string Silo,
    [property: Id(1)] string Name,
    [property: Id(2)] IReadOnlyList<string> Devices,
    [property: Id(3)] IReadOnlyList<string>? Models,
    [property: Id(4)] int Capacity,
    [property: Id(5)] string Status,
    [property: Id(6)] DateTimeOffset HeartbeatAt,
    [property: Id(7)] int Leases);
