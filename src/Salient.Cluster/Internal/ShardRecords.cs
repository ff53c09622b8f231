using System.Text;
using Salient.Storage;

namespace Salient.Cluster.Internal;

/// <summary>
/// A shard's records: in its report when they are small (<see cref="InlineLimit"/>), else in a records blob of its own
/// written under the lease's token; and a job's records, each completed shard's from the report that won its lease.
/// </summary>
public static class ShardRecords
{
    /// <summary>
    /// The most bytes of records a report carries: a shard of a few items (one or two records each) reports its records
    /// instead of creating a blob for them, which costs more than the records themselves (a file, or a request, written
    /// and read back); larger ones would make the job grain's state, which keeps every report, grow with the outputs.
    /// </summary>
    public const int InlineLimit = 1024;

    /// <summary>
    /// Keeps a shard's records (JSON lines): returns them for its report when they fit in <see cref="InlineLimit"/>,
    /// else writes them create-only under the lease's token (a blob an earlier write of this lease left holds the same
    /// records) and returns null.
    /// </summary>
    public static async Task<string?> KeepAsync(IBlobStore blobs, ShardLease lease, byte[] records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(records);
        if (records.Length <= InlineLimit)
        {
            return Encoding.UTF8.GetString(records);
        }

        try
        {
            await blobs.PutAsync(BlobLayout.ShardRecords(lease.JobId, lease.Index, lease.FencingToken), records, null, overwrite: false, cancellationToken).ConfigureAwait(false);
        }
        catch (BlobAlreadyExistsException)
        {
        }

        return null;
    }

    /// <summary>
    /// The records of the given shards, in the order given: the records its winning report carried, or else those of the
    /// blob written under that report's token; exactly one record set per item.
    /// </summary>
    public static async Task<byte[]> ConcatenateAsync(IBlobStore blobs, Guid jobId, IEnumerable<(int Index, ShardReport Report)> shards, CancellationToken cancellationToken = default)
    {
        using var manifest = new MemoryStream();
        foreach (var (index, report) in shards)
        {
            manifest.Write(report.RecordLines is { } lines
                ? Encoding.UTF8.GetBytes(lines)
                : await blobs.ReadAllBytesAsync(BlobLayout.ShardRecords(jobId, index, report.FencingToken), cancellationToken).ConfigureAwait(false));
        }

        return manifest.ToArray();
    }
}
