namespace Salient.Cluster.Coordinator;

/// <summary>Settings of the coordinator's API and background work.</summary>
public sealed class CoordinatorOptions
{
    /// <summary>Client API keys; none means an open API (local use).</summary>
    public IReadOnlySet<string> ApiKeys { get; init; } = new HashSet<string>();

    /// <summary>The secret workers present to <c>/api/v1/worker/*</c>; null leaves those open.</summary>
    public string? WorkerToken { get; init; }

    /// <summary>How often <c>/events</c> looks for changes of a job.</summary>
    public TimeSpan EventInterval { get; init; } = TimeSpan.FromSeconds(1);
}
