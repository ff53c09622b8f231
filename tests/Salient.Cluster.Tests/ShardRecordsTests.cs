using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Salient.Cluster.Internal;
using Salient.Storage;

namespace Salient.Cluster.Tests;

/// <summary>
/// A shard's records travel in its report when small and go to a blob under the lease's token when not; a job's records
/// are read back from whichever its winning reports say, in shard order.
/// </summary>
public sealed class ShardRecordsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("salient-records-").FullName;

    [Fact]
    public async Task Small_records_go_in_the_report_large_ones_in_a_blob_and_the_manifest_reads_both_in_shard_order()
    {
        var blobs = BlobStore.Open(_dir);
        var job = Guid.CreateVersion7();
        var small = Encoding.UTF8.GetBytes("{\"item\":\"a\"}\n");
        var large = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 100).Select(i => $"{{\"item\":\"b{i:D3}\",\"method\":\"gradcam\"}}\n")));
        Assert.True(large.Length > ShardRecords.InlineLimit);

        var inline = await ShardRecords.KeepAsync(blobs, Lease(job, 0, token: 11), small);
        Assert.Equal(Encoding.UTF8.GetString(small), inline);
        Assert.False(await blobs.ExistsAsync(BlobLayout.ShardRecords(job, 0, 11)));

        Assert.Null(await ShardRecords.KeepAsync(blobs, Lease(job, 1, token: 12), large));
        Assert.Equal(large, await blobs.ReadAllBytesAsync(BlobLayout.ShardRecords(job, 1, 12)));
        // A second write of the same lease (a retried finish) keeps the blob and still reports it.
        Assert.Null(await ShardRecords.KeepAsync(blobs, Lease(job, 1, token: 12), large));

        // The report round-trips its records, and the manifest takes shard 1 from the blob its token names.
        var first = Stored(new ShardReport(1, 0, 1, 11, null, RecordLines: inline));
        var second = Stored(new ShardReport(100, 0, 100, 12, null));
        Assert.Equal(inline, first.RecordLines);
        var manifest = await ShardRecords.ConcatenateAsync(blobs, job, [(0, first), (1, second)]);
        Assert.Equal([.. small, .. large], manifest);
    }

    /// <summary>The report as the job grain keeps it (as JSON text) and reads it back.</summary>
    private static ShardReport Stored(ShardReport report) => ShardReport.FromJson(JsonNode.Parse(report.ToJson().ToJsonString())!.AsObject());

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ShardLease Lease(Guid job, int index, long token) => new(
        index, job, index, "explain", JsonDocument.Parse("{}").RootElement, ModelRef.None, index, ["x"], 1, 3, Guid.NewGuid(), token, DateTimeOffset.UtcNow.AddMinutes(1));
}
