using System.Text.Json.Nodes;
using Salient.Methods.Metrics;

namespace Salient.Cluster;

/// <summary>
/// What a worker reports when it completes a shard (stored as the shard's metrics): item counts,
/// the fencing token its records were written under, and for <c>eval</c> the shard's
/// <see cref="MetricAccumulator"/>.
/// </summary>
/// <param name="Items">Items of the shard.</param>
/// <param name="Failed">Items that failed for some method or target.</param>
/// <param name="Records">Manifest records written.</param>
/// <param name="FencingToken">The lease's token, which names the shard's records blob.</param>
/// <param name="Accumulator">The eval shard's metric sums, or null.</param>
public sealed record ShardReport(int Items, int Failed, int Records, long FencingToken, MetricAccumulator? Accumulator)
{
    /// <summary>The report as the shard's metrics document.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject
        {
            ["items"] = Items,
            ["failed"] = Failed,
            ["records"] = Records,
            ["fencing_token"] = FencingToken,
        };
        if (Accumulator is not null)
        {
            json["accumulator"] = JsonNode.Parse(Accumulator.ToJson());
        }

        return json;
    }

    /// <summary>A report from its metrics document.</summary>
    public static ShardReport FromJson(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return new ShardReport(
            (int)json["items"]!.GetValue<double>(), (int)json["failed"]!.GetValue<double>(), (int)json["records"]!.GetValue<double>(),
            (long)json["fencing_token"]!.GetValue<double>(),
            json["accumulator"] is JsonNode accumulator ? MetricAccumulator.FromJson(accumulator.ToJsonString()) : null);
    }
}

/// <summary>
/// Merges <see cref="ShardReport"/>s into a job's metrics: summed counts, the merged
/// <see cref="MetricAccumulator"/> (exact in any order) and its summary per method.
/// </summary>
public sealed class ShardReportMerger : IMetricsMerger
{
    /// <inheritdoc />
    public JsonObject Merge(IReadOnlyList<ShardMetrics> shards)
    {
        ArgumentNullException.ThrowIfNull(shards);
        var reports = shards.Select(s => ShardReport.FromJson(s.Metrics)).ToList();
        var json = new JsonObject
        {
            ["shards"] = reports.Count,
            ["items"] = reports.Sum(r => r.Items),
            ["failed"] = reports.Sum(r => r.Failed),
            ["records"] = reports.Sum(r => r.Records),
        };
        var accumulators = reports.Where(r => r.Accumulator is not null).Select(r => r.Accumulator!).ToList();
        if (accumulators.Count > 0)
        {
            var total = new MetricAccumulator();
            accumulators.ForEach(total.Merge);
            json["accumulator"] = JsonNode.Parse(total.ToJson());
            json["summary"] = new JsonObject(total.Methods.Select(m =>
                KeyValuePair.Create(m, JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(total.Summarize(m), Client.SalientJson.Options)))));
        }

        return json;
    }
}
