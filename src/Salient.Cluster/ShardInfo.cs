namespace Salient.Cluster;

/// <summary>Where a shard is in its life.</summary>
public enum ShardState
{
    /// <summary>Waiting for a worker (possibly not before <see cref="ShardInfo.NotBefore"/>).</summary>
    Queued,

    /// <summary>Held by a worker under a lease.</summary>
    Leased,

    /// <summary>Completed; its metrics are recorded.</summary>
    Done,

    /// <summary>Dead-lettered after its attempts were spent; <see cref="ShardInfo.Errors"/> says why.</summary>
    Dead,

    /// <summary>Its job was cancelled before it finished.</summary>
    Cancelled,
}

/// <summary>One failed attempt of a shard: a worker's error or an expired lease.</summary>
/// <param name="Attempt">The attempt that failed, from 1.</param>
/// <param name="Worker">The worker that held the lease.</param>
/// <param name="At">When the failure was recorded.</param>
/// <param name="Message">The worker's error, or that the lease expired.</param>
public sealed record ShardError(int Attempt, Guid? Worker, DateTimeOffset At, string Message);

/// <summary>A shard as stored.</summary>
public sealed record ShardInfo(
    Guid JobId,
    int Index,
    int FirstItem,
    IReadOnlyList<string> Items,
    ShardState State,
    int Attempt,
    int MaxAttempts,
    Guid? LeasedBy,
    DateTimeOffset? LeaseExpiresAt,
    DateTimeOffset NotBefore,
    IReadOnlyList<ShardError> Errors);
