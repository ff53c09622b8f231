using Salient.Storage;

namespace Salient.Cluster.Internal;

/// <summary>A job's records: each completed shard's records blob, read under the token that won its lease.</summary>
public static class ShardRecords
{
    /// <summary>The records of the given shards, in the order given: exactly one record set per item.</summary>
    public static async Task<byte[]> ConcatenateAsync(IBlobStore blobs, Guid jobId, IEnumerable<(int Index, long Token)> shards, CancellationToken cancellationToken = default)
    {
        using var manifest = new MemoryStream();
        foreach (var (index, token) in shards)
        {
            manifest.Write(await blobs.ReadAllBytesAsync(BlobLayout.ShardRecords(jobId, index, token), cancellationToken).ConfigureAwait(false));
        }

        return manifest.ToArray();
    }
}
