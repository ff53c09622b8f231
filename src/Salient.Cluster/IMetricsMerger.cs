using System.Text.Json.Nodes;

namespace Salient.Cluster;

/// <summary>A completed shard's metrics document.</summary>
/// <param name="Index">The shard's index in its job.</param>
/// <param name="Metrics">What the worker reported.</param>
public sealed record ShardMetrics(int Index, JsonObject Metrics);

/// <summary>Merges the metrics of a job's completed shards into the job's metrics.</summary>
public interface IMetricsMerger
{
    /// <summary>Merges the documents, given in shard order; the result is stored as the job's metrics.</summary>
    JsonObject Merge(IReadOnlyList<ShardMetrics> shards);
}
