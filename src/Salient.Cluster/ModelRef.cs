namespace Salient.Cluster;

/// <summary>The model a job runs: the key workers declare they host, where to fetch it, and its digest.</summary>
/// <param name="Key">The model's name in worker declarations (<c>--models</c>) and shard routing.</param>
/// <param name="Uri">Where a worker fetches the model from (a blob or file URI).</param>
/// <param name="Sha256">The hex SHA-256 of the model file, checked by the worker that loads it.</param>
public sealed record ModelRef(string Key, string Uri, string Sha256)
{
    /// <summary>
    /// The model of jobs that need none (<c>pwla</c>): every worker claims its shards, pinned or not. Its key is
    /// one the registry refuses, so no registered model shares it.
    /// </summary>
    public static ModelRef None { get; } = new("(none)", "", "");
}
