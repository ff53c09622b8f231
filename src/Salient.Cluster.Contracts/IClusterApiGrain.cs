namespace Salient.Cluster.Contracts;

/// <summary>
/// The coordinator's job and worker operations of <c>/api/v1</c> as a grain, for .NET services inside the cluster
/// network (<c>Salient.Client.SalientClusterClient</c>): the same checks, JSON documents and status codes as the
/// REST API (docs/api.md), without HTTP. Key 0; placed on coordinator silos.
/// </summary>
public interface IClusterApiGrain : IGrainWithIntegerKey
{
    /// <summary><c>POST /api/v1/jobs</c> with <paramref name="submission"/> (a JobSubmission document).</summary>
    Task<ApiReply> SubmitJobAsync(string submission);

    /// <summary><c>GET /api/v1/jobs/{id}</c>.</summary>
    Task<ApiReply> GetJobAsync(Guid id);

    /// <summary><c>GET /api/v1/jobs?state=&amp;limit=</c>.</summary>
    Task<ApiReply> ListJobsAsync(string? state, int? limit);

    /// <summary><c>POST /api/v1/jobs/{id}/cancel</c>.</summary>
    Task<ApiReply> CancelJobAsync(Guid id);

    /// <summary><c>GET /api/v1/jobs/{id}/metrics</c>.</summary>
    Task<ApiReply> GetMetricsAsync(Guid id);

    /// <summary><c>GET /api/v1/workers</c>.</summary>
    Task<ApiReply> ListWorkersAsync();
}

/// <summary>An answer of <see cref="IClusterApiGrain"/>: the REST API's status code and JSON body (a problem document for errors).</summary>
[GenerateSerializer, Immutable]
public sealed record ApiReply([property: Id(0)] int Status, [property: Id(1)] string Json);
