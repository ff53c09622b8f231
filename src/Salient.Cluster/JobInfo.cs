using System.Text.Json;
using System.Text.Json.Nodes;

namespace Salient.Cluster;

/// <summary>Where a job is in its life.</summary>
public enum JobState
{
    /// <summary>No shard has been leased yet.</summary>
    Queued,

    /// <summary>Some shard has been leased and some shard is not finished.</summary>
    Running,

    /// <summary>Every shard completed.</summary>
    Succeeded,

    /// <summary>
    /// Every shard finished and at least one was dead-lettered. The completed shards' outputs and
    /// metrics stand (the job's metrics merge them); <see cref="JobInfo.Error"/> counts the dead ones.
    /// </summary>
    Failed,

    /// <summary>Cancelled before it finished; unfinished shards were cancelled with it.</summary>
    Cancelled,
}

/// <summary>How many of a job's shards are in each state.</summary>
public sealed record JobProgress(int Queued, int Leased, int Done, int Dead, int Cancelled)
{
    /// <summary>All shards of the job.</summary>
    public int Total => Queued + Leased + Done + Dead + Cancelled;
}

/// <summary>A job as stored, with its shard counts.</summary>
public sealed record JobInfo(
    Guid Id,
    string Kind,
    JsonElement Spec,
    ModelRef Model,
    JobState State,
    int Priority,
    int MaxAttempts,
    int TotalShards,
    int TotalItems,
    JobProgress Progress,
    JsonObject? Metrics,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? FinishedAt)
{
    /// <summary>Whether the job reached a state it never leaves.</summary>
    public bool IsFinished => State is JobState.Succeeded or JobState.Failed or JobState.Cancelled;
}
