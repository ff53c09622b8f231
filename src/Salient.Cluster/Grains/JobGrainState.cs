using Salient.Cluster.Contracts;

namespace Salient.Cluster.Grains;

/// <summary>A job grain's persistent state: the plan, the shard table and the end.</summary>
[GenerateSerializer]
internal sealed class JobGrainState
{
    [Id(0)] public JobPlan? Plan { get; set; }

    [Id(1)] public JobState State { get; set; }

    /// <summary>Raised and written at every activation; the high half of every token it hands out, so tokens never repeat.</summary>
    [Id(2)] public int Epoch { get; set; }

    [Id(3)] public List<ShardEntry> Shards { get; set; } = [];

    [Id(4)] public string? Metrics { get; set; }

    [Id(5)] public string? Error { get; set; }

    [Id(6)] public DateTimeOffset CreatedAt { get; set; }

    [Id(7)] public DateTimeOffset UpdatedAt { get; set; }

    [Id(8)] public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Whether the manifest and metrics blobs are written.</summary>
    [Id(9)] public bool ResultsWritten { get; set; }
}

/// <summary>One shard of the table.</summary>
[GenerateSerializer]
internal sealed class ShardEntry
{
    [Id(0)] public int Index { get; set; }

    [Id(1)] public int FirstItem { get; set; }

    [Id(2)] public string[] Items { get; set; } = [];

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
