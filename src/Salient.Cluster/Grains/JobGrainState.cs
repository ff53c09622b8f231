using Salient.Cluster.Contracts;

namespace Salient.Cluster.Grains;

/// <summary>
/// A job grain's persistent state: the plan without its items, the end, and how the shard table is kept. The items
/// (<see cref="JobItems"/>, written once at submission) and the shard table (<see cref="ShardChunk"/>s of
/// <see cref="ShardChunk.Size"/> shards, each written only when one of its shards changed) are grain states of their
/// own, so a write of this state or of the shards that moved costs the same however large the job is.
/// </summary>
[GenerateSerializer]
internal sealed class JobGrainState
{
    /// <summary>The plan, its items left out (they are in <see cref="JobItems"/>); null until submitted.</summary>
    [Id(0)] public JobPlan? Plan { get; set; }

    [Id(1)] public JobState State { get; set; }

    /// <summary>Raised and written at every activation; the high half of every token it hands out, so tokens never repeat.</summary>
    [Id(2)] public int Epoch { get; set; }

    // Id 3 held the whole shard table in states of development builds from before the table moved to chunks; it is
    // not read and must not be reused (JobGrain refuses such a state: docs/deployment.md, "Upgrades").

    [Id(4)] public string? Metrics { get; set; }

    [Id(5)] public string? Error { get; set; }

    [Id(6)] public DateTimeOffset CreatedAt { get; set; }

    [Id(7)] public DateTimeOffset UpdatedAt { get; set; }

    [Id(8)] public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Whether the manifest and metrics blobs are written.</summary>
    [Id(9)] public bool ResultsWritten { get; set; }

    /// <summary>The job's items and shards (the items themselves are in <see cref="JobItems"/>, the shards in chunks).</summary>
    [Id(10)] public int ItemCount { get; set; }

    [Id(11)] public int ShardCount { get; set; }
}

/// <summary>A job's items, in order: written once, when the job is submitted.</summary>
[GenerateSerializer]
internal sealed class JobItems
{
    [Id(0)] public string[] Items { get; set; } = [];
}

/// <summary>Shards <c>k · Size</c> to <c>(k + 1) · Size - 1</c> of a job's table: grain state <c>job-shards-k</c>.</summary>
[GenerateSerializer]
internal sealed class ShardChunk
{
    /// <summary>Shards per chunk: a chunk write stays small, and a flush writes few of them.</summary>
    public const int Size = 256;

    [Id(0)] public List<ShardEntry> Shards { get; set; } = [];
}

/// <summary>One shard of the table: its items are the job's from <see cref="FirstItem"/> (id 2, its own items in older states, is not reused).</summary>
[GenerateSerializer]
internal sealed class ShardEntry
{
    [Id(0)] public int Index { get; set; }

    [Id(1)] public int FirstItem { get; set; }

    [Id(3)] public ShardState State { get; set; }

    [Id(4)] public int Attempt { get; set; }

    /// <summary>The token of the current or last lease.</summary>
    [Id(5)] public long Token { get; set; }

    /// <summary>The model grain holding the lease.</summary>
    [Id(6)] public string? Holder { get; set; }

    [Id(7)] public DateTimeOffset? LeaseExpiresAt { get; set; }

    [Id(8)] public DateTimeOffset NotBefore { get; set; }

    [Id(9)] public List<ShardErrorRecord> Errors { get; set; } = [];

    /// <summary>The completed shard's report (a <see cref="ShardReport"/> as JSON).</summary>
    [Id(10)] public string? Report { get; set; }
}
