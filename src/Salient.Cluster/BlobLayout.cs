namespace Salient.Cluster;

/// <summary>The blob names of the cluster (docs/api.md, "Blob layout").</summary>
public static class BlobLayout
{
    /// <summary>The ONNX file of the model with this SHA-256.</summary>
    public static string Model(string sha256) => $"models/{sha256}.onnx";

    /// <summary>The model card of the model with this SHA-256.</summary>
    public static string ModelCard(string sha256) => $"models/{sha256}.json";

    /// <summary>Where the registration of model <paramref name="key"/> is kept.</summary>
    public static string ModelKey(string key) => $"models/keys/{key}.json";

    /// <summary>The folder of a job's blobs, with its trailing slash.</summary>
    public static string Job(Guid jobId) => $"jobs/{jobId:D}/";

    /// <summary>
    /// A shard's records, written once by the worker whose lease carried <paramref name="fencingToken"/>:
    /// a worker that lost its lease writes under its own, smaller token and never over the winner's.
    /// </summary>
    public static string ShardRecords(Guid jobId, int index, long fencingToken) => $"{Job(jobId)}shards/{index}-{fencingToken}.jsonl";

    /// <summary>The job's records, one per item × method × target, in shard order.</summary>
    public static string Manifest(Guid jobId) => $"{Job(jobId)}manifest.jsonl";

    /// <summary>The job's merged metrics.</summary>
    public static string Metrics(Guid jobId) => $"{Job(jobId)}metrics.json";
}
