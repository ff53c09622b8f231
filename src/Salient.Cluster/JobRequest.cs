using System.Text.Json;

namespace Salient.Cluster;

/// <summary>A job to enqueue: what to run on which items, cut into shards of <see cref="ShardSize"/> items.</summary>
public sealed class JobRequest
{
    /// <summary>The job's id; a fresh one when not set. Creating the same id twice creates one job.</summary>
    public Guid? Id { get; init; }

    /// <summary>What the job does, e.g. <c>explain</c>; workers dispatch on it.</summary>
    public required string Kind { get; init; }

    /// <summary>The job's parameters (method, layers, targets, formats...), passed to workers as is.</summary>
    public required JsonElement Spec { get; init; }

    /// <summary>The model every shard of the job runs.</summary>
    public required ModelRef Model { get; init; }

    /// <summary>The dataset's item keys, in the order the coordinator listed them.</summary>
    public required IReadOnlyList<string> Items { get; init; }

    /// <summary>Items per shard; the last shard holds the remainder.</summary>
    public int ShardSize { get; init; } = 64;

    /// <summary>Lower values are claimed first.</summary>
    public int Priority { get; init; }

    /// <summary>How many times a shard may be leased before it is dead-lettered.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first unusable setting.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(ShardSize, 1, nameof(ShardSize));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAttempts, 1, nameof(MaxAttempts));
        if (Items.Count == 0)
        {
            throw new ArgumentException("A job needs at least one item.", nameof(Items));
        }
    }
}
