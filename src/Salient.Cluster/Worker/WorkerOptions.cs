namespace Salient.Cluster.Worker;

/// <summary>Settings of a worker silo and its model grains' shard runner (docs/api.md, worker role).</summary>
public sealed class WorkerOptions
{
    /// <summary>A readable name; the host and process id when not set.</summary>
    public string Name { get; init; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>The models it hosts: model grains are placed only where their model is hosted.</summary>
    public HostedModels Models { get; init; } = HostedModels.Any;

    /// <summary>The devices it declares (only <c>cpu</c> computes today).</summary>
    public IReadOnlyList<string> Devices { get; init; } = ["cpu"];

    /// <summary>Shards each model grain runs at once.</summary>
    public int Capacity { get; init; } = 1;

    /// <summary>How long a lease lasts without renewal.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a running shard's lease is renewed; well under <see cref="LeaseDuration"/>.</summary>
    public TimeSpan RenewInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Items per forward pass.</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Where downloaded models are kept, by SHA-256.</summary>
    public string ModelCache { get; init; } = Path.Combine(Path.GetTempPath(), "salient-models");

    /// <summary>
    /// How long a stopping worker lets its shards in flight run before it hands the unfinished ones
    /// back after their current batch (queued again at once, the attempt not counted). Shorter than
    /// the host's drain timeout, so the hand-back happens before the process exits.
    /// </summary>
    public TimeSpan HandBackAfter { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>Checks the settings; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        if (Capacity < 1 || BatchSize < 1)
        {
            throw new ArgumentException("--capacity and the batch size must be at least 1.");
        }

        if (LeaseDuration <= TimeSpan.Zero || RenewInterval <= TimeSpan.Zero || RenewInterval >= LeaseDuration)
        {
            throw new ArgumentException("The lease must be positive and renewed more often than it lasts.");
        }

        if (HandBackAfter < TimeSpan.Zero)
        {
            throw new ArgumentException("The hand-back delay of a stopping worker must not be negative.");
        }
    }
}
