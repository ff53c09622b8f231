using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Salient.Cluster.Contracts;

namespace Salient.Client;

/// <summary>
/// The Orleans path to a Salient cluster, for .NET services inside the cluster network: job and worker operations
/// through the coordinator's API grain (<see cref="IClusterApiGrain"/>) over an Orleans client connected to the
/// cluster's gateways, instead of HTTP. The same contract types, checks and errors as <see cref="SalientClient"/>
/// (a refused call throws <see cref="SalientApiException"/> with the REST API's status and detail); Orleans' client
/// retries and reconnects to another gateway by itself.
/// </summary>
/// <param name="cluster">A started Orleans client of the cluster (same cluster id and clustering storage as the silos).</param>
public sealed class SalientClusterClient(IClusterClient cluster)
{
    private IClusterApiGrain Api => cluster.GetGrain<IClusterApiGrain>(0);

    /// <summary>Submits a job; a submission without an id gets one, so that retries create one job.</summary>
    public async Task<Job> SubmitJobAsync(JobSubmission submission, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(submission);
        return Read<Job>(await Api.SubmitJobAsync(JsonSerializer.Serialize(submission.WithId(), SalientJson.Options)).WaitAsync(cancellationToken).ConfigureAwait(false));
    }

    /// <summary>A job and its progress.</summary>
    public async Task<Job> GetJobAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        Read<Job>(await Api.GetJobAsync(jobId).WaitAsync(cancellationToken).ConfigureAwait(false));

    /// <summary>The newest jobs first, optionally only those in <paramref name="state"/>.</summary>
    public async Task<IReadOnlyList<Job>> ListJobsAsync(string? state = null, int limit = 100, CancellationToken cancellationToken = default) =>
        Read<IReadOnlyList<Job>>(await Api.ListJobsAsync(state, limit).WaitAsync(cancellationToken).ConfigureAwait(false));

    /// <summary>Cancels a job; a <see cref="SalientApiException"/> with 409 when it already finished.</summary>
    public async Task<Job> CancelJobAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        Read<Job>(await Api.CancelJobAsync(jobId).WaitAsync(cancellationToken).ConfigureAwait(false));

    /// <summary>The job's merged metrics document.</summary>
    public async Task<JsonObject> GetMetricsAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        Read<JsonObject>(await Api.GetMetricsAsync(jobId).WaitAsync(cancellationToken).ConfigureAwait(false));

    /// <summary>The worker silos with their models, devices and the shards they hold.</summary>
    public async Task<IReadOnlyList<WorkerSummary>> ListWorkersAsync(CancellationToken cancellationToken = default) =>
        Read<IReadOnlyList<WorkerSummary>>(await Api.ListWorkersAsync().WaitAsync(cancellationToken).ConfigureAwait(false));

    private static T Read<T>(ApiReply reply) => reply.Status is >= 200 and < 300
        ? JsonSerializer.Deserialize<T>(reply.Json, SalientJson.Options)!
        : throw SalientApiException.FromProblem((HttpStatusCode)reply.Status, JsonNode.Parse(reply.Json) as JsonObject);
}
