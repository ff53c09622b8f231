namespace Salient.Dashboard.Tests;

/// <summary>
/// A coordinator the dashboard test drives: the stub, or the real cluster
/// (<c>deploy/cluster.sh</c>, a job submitted through <c>Salient.Client</c>).
/// </summary>
public interface IDashboardCluster
{
    /// <summary>The coordinator's base address; the dashboard is served at its root.</summary>
    Uri BaseAddress { get; }

    /// <summary>A client API key the coordinator accepts.</summary>
    string ApiKey { get; }

    /// <summary>Submits a job with metrics that runs to the end on its own and returns its id.</summary>
    Task<string> SubmitJobAsync(CancellationToken cancellationToken);

    /// <summary>How many methods the job's metrics cover.</summary>
    int MethodCount { get; }
}
