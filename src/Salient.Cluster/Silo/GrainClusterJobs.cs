using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Salient.Cluster.Contracts;

namespace Salient.Cluster.Silo;

/// <summary>The API's view of the cluster over its grains: a job grain per job, the catalog grain for lists and workers.</summary>
public sealed class GrainClusterJobs(IGrainFactory grains) : IClusterJobs
{
    private IJobCatalogGrain Catalog => grains.GetGrain<IJobCatalogGrain>(0);

    /// <inheritdoc />
    public async Task<Guid> CreateJobAsync(JobRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();

        var id = request.Id ?? Guid.CreateVersion7();
        var model = new ModelAddress(request.Model.Key, request.Model.Uri, request.Model.Sha256);
        await grains.GetGrain<IJobGrain>(id).SubmitAsync(new JobPlan(id, request.Kind, request.Spec.GetRawText(), model, [.. request.Items],
            request.ShardSize, request.Priority, request.MaxAttempts)).WaitAsync(cancellationToken).ConfigureAwait(false);
        return id;
    }

    /// <inheritdoc />
    public async Task<JobInfo?> GetJobAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        await grains.GetGrain<IJobGrain>(jobId).GetAsync().WaitAsync(cancellationToken).ConfigureAwait(false) is { } job ? ToInfo(job) : null;

    /// <inheritdoc />
    public async Task<IReadOnlyList<JobInfo>> ListJobsAsync(JobState? state = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var summaries = await Catalog.ListAsync(state?.ToString().ToLowerInvariant(), limit).WaitAsync(cancellationToken).ConfigureAwait(false);
        var jobs = await Task.WhenAll(summaries.Select(s => grains.GetGrain<IJobGrain>(s.Id).GetAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);
        return [.. jobs.OfType<JobSnapshot>().Select(ToInfo)];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ShardInfo>> ListShardsAsync(Guid jobId, CancellationToken cancellationToken = default)
    {
        var shards = await grains.GetGrain<IJobGrain>(jobId).ListShardsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        return [.. shards.Select(s => new ShardInfo(jobId, s.Index, s.FirstItem, s.Items, Enum.Parse<ShardState>(s.State, ignoreCase: true), s.Attempt, s.MaxAttempts,
            s.Holder is null ? null : WorkerId(ModelGrainKey.Parse(s.Holder).Silo), s.LeaseExpiresAt, s.NotBefore,
            [.. s.Errors.Select(e => new ShardError(e.Attempt, e.Holder is null ? null : WorkerId(ModelGrainKey.Parse(e.Holder).Silo), e.At, e.Message))]))];
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ShardMetrics>> GetShardMetricsAsync(Guid jobId, CancellationToken cancellationToken = default)
    {
        var reports = await grains.GetGrain<IJobGrain>(jobId).GetShardMetricsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        return [.. reports.Select(r => new ShardMetrics(r.Index, JsonNode.Parse(r.Report)!.AsObject()))];
    }

    /// <inheritdoc />
    public Task<bool> CancelJobAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        grains.GetGrain<IJobGrain>(jobId).CancelAsync().WaitAsync(cancellationToken);

    /// <inheritdoc />
    public async Task<IReadOnlyList<WorkerInfo>> ListWorkersAsync(CancellationToken cancellationToken = default)
    {
        var workers = await Catalog.ListWorkersAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        return [.. workers.OrderBy(w => w.Name, StringComparer.Ordinal).Select(w => new WorkerInfo(
            WorkerId(w.Silo), w.Name, [.. w.Devices.Select(d => new DeviceInfo(d.Split(':')[0], d))],
            w.Models is null ? HostedModels.Any : HostedModels.Only(w.Models), w.Capacity,
            w.Status == "active" ? WorkerState.Active : WorkerState.Lost, w.HeartbeatAt, w.HeartbeatAt))];
    }

    /// <inheritdoc />
    public async Task<ClusterCounts> GetCountsAsync(CancellationToken cancellationToken = default)
    {
        var jobs = await Catalog.ListAsync(null, int.MaxValue).WaitAsync(cancellationToken).ConfigureAwait(false);
        var workers = await Catalog.ListWorkersAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        var shards = new Dictionary<string, long>
        {
            ["queued"] = jobs.Sum(j => (long)j.Shards.Queued),
            ["leased"] = jobs.Sum(j => (long)j.Shards.Leased),
            ["done"] = jobs.Sum(j => (long)j.Shards.Done),
            ["dead"] = jobs.Sum(j => (long)j.Shards.Dead),
            ["cancelled"] = jobs.Sum(j => (long)j.Shards.Cancelled),
        };
        return new ClusterCounts(
            jobs.GroupBy(j => j.State).ToDictionary(g => g.Key, g => (long)g.Count()), shards, jobs.Sum(j => (long)j.ItemsDone),
            workers.GroupBy(w => w.Status).ToDictionary(g => g.Key, g => (long)g.Count()),
            workers.ToDictionary(w => WorkerId(w.Silo), w => w.Leases),
            jobs.Where(j => j.State is "queued" or "running").GroupBy(j => j.Model ?? ModelRef.None.Key, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Sum(j => (long)j.Shards.Queued + j.Shards.Leased), StringComparer.Ordinal));
    }

    /// <summary>A worker silo's id in the API: a stable GUID from its address (host, port and generation).</summary>
    public static Guid WorkerId(string silo) => new(SHA256.HashData(Encoding.UTF8.GetBytes(silo)).AsSpan(0, 16));

    private static JobInfo ToInfo(JobSnapshot job) => new(
        job.Id, job.Kind, JsonElement.Parse(job.Spec), new ModelRef(job.Model.Key, job.Model.Uri, job.Model.Sha256),
        Enum.Parse<JobState>(job.State, ignoreCase: true), job.Priority, job.MaxAttempts, job.TotalShards, job.TotalItems,
        new JobProgress(job.Shards.Queued, job.Shards.Leased, job.Shards.Done, job.Shards.Dead, job.Shards.Cancelled),
        job.Metrics is null ? null : JsonNode.Parse(job.Metrics)!.AsObject(),
        // A job that cannot start says why where the API shows errors.
        job.Error ?? job.Waiting, job.CreatedAt, job.UpdatedAt, job.FinishedAt);
}
