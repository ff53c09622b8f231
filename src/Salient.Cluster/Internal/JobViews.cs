using System.Text;
using Salient.Client;
using Salient.Storage;

namespace Salient.Cluster.Internal;

/// <summary>Jobs as the API shows them, and their records: from the manifest once written, else from the completed shards.</summary>
internal sealed class JobViews(IClusterJobs store, IBlobStore blobs, TimeProvider time)
{
    public async Task<Job?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        var job = await store.GetJobAsync(id, cancellationToken).ConfigureAwait(false);
        return job is null ? null : await ViewAsync(job, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Job> ViewAsync(JobInfo job, CancellationToken cancellationToken)
    {
        var reports = (await store.GetShardMetricsAsync(job.Id, cancellationToken).ConfigureAwait(false)).Select(s => ShardReport.FromJson(s.Metrics)).ToList();
        var (done, failed) = (reports.Sum(r => r.Items), reports.Sum(r => r.Failed));
        var end = job.FinishedAt ?? time.GetUtcNow();
        var seconds = Math.Max((end - job.CreatedAt).TotalSeconds, 1e-3);
        var throughput = done / seconds;
        double? eta = job.IsFinished ? 0 : throughput > 0 ? (job.TotalItems - done) / throughput : null;
        var p = job.Progress;
        return new Job(job.Id, job.Kind, job.State.ToString().ToLowerInvariant(), job.Model.Key, job.CreatedAt, job.UpdatedAt, job.FinishedAt,
            new ShardCounts(p.Total, p.Queued, p.Leased, p.Done, p.Dead, p.Cancelled), new ItemCounts(job.TotalItems, done, failed),
            Math.Round(throughput, 3), eta is null ? null : Math.Round(eta.Value, 1), job.Error, job.IsFinished && job.Metrics is not null);
    }

    /// <summary>The job's records as JSON lines: the manifest when written, else the completed shards' records in shard order.</summary>
    public async Task<IReadOnlyList<string>> ReadRecordsAsync(Guid id, CancellationToken cancellationToken)
    {
        try
        {
            return Lines(await blobs.ReadAllBytesAsync(BlobLayout.Manifest(id), cancellationToken).ConfigureAwait(false));
        }
        catch (BlobNotFoundException)
        {
            return Lines(await ConcatenateShardsAsync(id, cancellationToken).ConfigureAwait(false));
        }
    }

    /// <summary>
    /// The records of every completed shard, in shard order, from its winning report (which carries them, or names
    /// the blob its lease wrote by the fencing token): exactly one record set per item.
    /// </summary>
    public async Task<byte[]> ConcatenateShardsAsync(Guid id, CancellationToken cancellationToken)
    {
        var shards = await store.GetShardMetricsAsync(id, cancellationToken).ConfigureAwait(false);
        return await ShardRecords.ConcatenateAsync(blobs, id, shards.Select(s => (s.Index, ShardReport.FromJson(s.Metrics))), cancellationToken)
            .ConfigureAwait(false);
    }

    private static List<string> Lines(byte[] text) =>
        [.. Encoding.UTF8.GetString(text).Split('\n', StringSplitOptions.RemoveEmptyEntries)];
}
