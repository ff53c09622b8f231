using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Concurrency;
using Salient.Cluster.Contracts;
using Salient.Cluster.Internal;
using Salient.Cluster.Placement;

namespace Salient.Cluster.Coordinator;

/// <summary>
/// The REST API's job and worker endpoints for Orleans clients: each call runs the endpoint's own handler
/// (<see cref="CoordinatorApi"/>) and returns its status and JSON body. Stateless, so calls interleave.
/// </summary>
[CoordinatorPlacement]
[Reentrant]
internal sealed class ClusterApiGrain(IServiceProvider services) : Grain, IClusterApiGrain
{
    private IClusterJobs Jobs => services.GetRequiredService<IClusterJobs>();

    private JobViews Views => services.GetRequiredService<JobViews>();

    public async Task<ApiReply> SubmitJobAsync(string submission)
    {
        using var body = new MemoryStream(Encoding.UTF8.GetBytes(submission ?? ""));
        return CoordinatorApi.ToReply(await CoordinatorApi.SubmitJobAsync(body, Jobs, services.GetRequiredService<ModelRegistry>(), services.GetRequiredService<JobDataset>(),
            Views, services.GetRequiredService<IHostApplicationLifetime>(), CancellationToken.None).ConfigureAwait(true));
    }

    public async Task<ApiReply> GetJobAsync(Guid id) => CoordinatorApi.ToReply(await CoordinatorApi.GetJobAsync(id, Views, CancellationToken.None).ConfigureAwait(true));

    public async Task<ApiReply> ListJobsAsync(string? state, int? limit) =>
        CoordinatorApi.ToReply(await CoordinatorApi.ListJobsAsync(state, limit, Jobs, Views, CancellationToken.None).ConfigureAwait(true));

    public async Task<ApiReply> CancelJobAsync(Guid id) => CoordinatorApi.ToReply(await CoordinatorApi.CancelJobAsync(id, Jobs, Views, CancellationToken.None).ConfigureAwait(true));

    public async Task<ApiReply> GetMetricsAsync(Guid id) => CoordinatorApi.ToReply(await CoordinatorApi.GetMetricsAsync(id, Jobs, CancellationToken.None).ConfigureAwait(true));

    public async Task<ApiReply> ListWorkersAsync() => CoordinatorApi.ToReply(await CoordinatorApi.ListWorkersAsync(Jobs, CancellationToken.None).ConfigureAwait(true));
}
