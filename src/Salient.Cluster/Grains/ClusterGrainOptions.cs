namespace Salient.Cluster.Grains;

/// <summary>Settings of the job and model grains (docs/api.md, "Processes").</summary>
public sealed class ClusterGrainOptions
{
    /// <summary>How long a shard's lease lasts without a renewal from its model grain.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A failed or expired shard waits <c>RetryBackoff · 2^(attempt-1)</c> before it is assigned again.</summary>
    public TimeSpan RetryBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between attempts.</summary>
    public TimeSpan MaxRetryBackoff { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often a job grain looks for expired leases, departed silos and newly hosting ones.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A job grain writes its state at most this often (reports in between are batched into one write); a
    /// report lost with an unwritten state only re-runs its shard, whose outputs are create-only.
    /// </summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Shards a job keeps in flight per model grain, per slot of the grain's capacity.</summary>
    public int CreditPerSlot { get; set; } = 2;

    /// <summary>Shards a model grain queues per slot of its capacity before it refuses more.</summary>
    public int QueuePerSlot { get; set; } = 4;

    /// <summary>How long a stopping model grain lets its running shards go on before it hands them back.</summary>
    public TimeSpan HandBackAfter { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>The clock of leases and backoff.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The backoff before attempt <paramref name="attempt"/> + 1.</summary>
    public TimeSpan BackoffAfter(int attempt)
    {
        var ticks = RetryBackoff.Ticks * Math.Pow(2, Math.Clamp(attempt - 1, 0, 30));
        return TimeSpan.FromTicks((long)Math.Min(ticks, MaxRetryBackoff.Ticks));
    }
}
