using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Salient.Cluster.Internal;
using Salient.Storage;

namespace Salient.Cluster.Coordinator;

/// <summary>
/// The coordinator's background work: sweeps expired leases every few seconds, and writes each
/// finished job's <c>manifest.jsonl</c> (its shards' records in shard order) and <c>metrics.json</c>.
/// </summary>
public sealed partial class JobFinisher(ClusterStore store, IBlobStore blobs, CoordinatorOptions options, ILogger<JobFinisher> logger) : BackgroundService
{
    private static readonly JobState[] EndStates = [JobState.Succeeded, JobState.Failed, JobState.Cancelled];

    // Jobs whose manifest this process wrote or found; after a restart each is checked once.
    private readonly ConcurrentDictionary<Guid, bool> _written = new();

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var views = new JobViews(store, blobs, TimeProvider.System);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var sweep = await store.SweepExpiredAsync(stoppingToken).ConfigureAwait(false);
                if (sweep.Requeued + sweep.DeadLettered + sweep.LostWorkers > 0)
                {
                    LogSwept(sweep.Requeued, sweep.DeadLettered, sweep.LostWorkers);
                }

                foreach (var state in EndStates)
                {
                    foreach (var job in await store.ListJobsAsync(state, 200, stoppingToken).ConfigureAwait(false))
                    {
                        if (!_written.ContainsKey(job.Id))
                        {
                            await WriteResultsAsync(views, job, stoppingToken).ConfigureAwait(false);
                            _written[job.Id] = true;
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The store or blob store is unreachable: the next round tries again.
                LogError(e);
            }

            try
            {
                await Task.Delay(options.SweepInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task WriteResultsAsync(JobViews views, JobInfo job, CancellationToken cancellationToken)
    {
        if (await blobs.ExistsAsync(BlobLayout.Manifest(job.Id), cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        // Metrics first: the manifest's presence says both are written.
        var metrics = job.Metrics ?? [];
        await blobs.PutAsync(BlobLayout.Metrics(job.Id), JsonSerializer.SerializeToUtf8Bytes(metrics), "application/json", overwrite: true, cancellationToken)
            .ConfigureAwait(false);
        var manifest = await views.ConcatenateShardsAsync(job.Id, cancellationToken).ConfigureAwait(false);
        await blobs.PutAsync(BlobLayout.Manifest(job.Id), manifest, "application/x-ndjson", overwrite: true, cancellationToken).ConfigureAwait(false);
        LogFinished(job.Id, job.State);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sweep: {Requeued} shards re-queued, {Dead} dead-lettered, {Lost} workers lost")]
    private partial void LogSwept(int requeued, int dead, int lost);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job {Job} {State}: manifest and metrics written")]
    private partial void LogFinished(Guid job, JobState state);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweeper round failed")]
    private partial void LogError(Exception error);
}
