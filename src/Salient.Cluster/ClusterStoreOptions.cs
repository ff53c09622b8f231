namespace Salient.Cluster;

/// <summary>Settings of a <see cref="ClusterStore"/>.</summary>
public sealed class ClusterStoreOptions
{
    /// <summary>
    /// The clock for lease expiry, backoff and heartbeats. Every node of a cluster should keep its
    /// clock synchronised (NTP); leases last far longer than the usual skew.
    /// </summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>A failed or expired shard waits <c>RetryBackoff · 2^attempt</c> before it may be claimed again.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between attempts.</summary>
    public TimeSpan MaxRetryBackoff { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>A worker whose heartbeats stop for this long is marked lost by the sweeper.</summary>
    public TimeSpan WorkerTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long an operation keeps retrying while PostgreSQL is unreachable or restarting.</summary>
    public TimeSpan TransientRetryWindow { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Merges shard metrics into a job's metrics when the job finishes.</summary>
    public IMetricsMerger MetricsMerger { get; init; } = new SumMetricsMerger();
}
