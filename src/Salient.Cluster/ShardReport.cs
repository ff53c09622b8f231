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
/// <param name="Pwla">The pwla shard's error sums, or null.</param>
/// <param name="RecordLines">
/// The shard's records (JSON lines) when they are small enough to travel in the report
/// (<see cref="Internal.ShardRecords.InlineLimit"/>); null when they are in the records blob.
/// </param>
public sealed record ShardReport(int Items, int Failed, int Records, long FencingToken, MetricAccumulator? Accumulator, PwlaTotals? Pwla = null, string? RecordLines = null)
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

        if (Pwla is not null)
        {
            json["pwla"] = Pwla.ToJson();
        }

        if (RecordLines is not null)
        {
            json["record_lines"] = RecordLines;
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
            json["accumulator"] is JsonNode accumulator ? MetricAccumulator.FromJson(accumulator.ToJsonString()) : null,
            json["pwla"] is JsonObject pwla ? PwlaTotals.FromJson(pwla) : null,
            json["record_lines"]?.GetValue<string>());
    }
}

/// <summary>
/// A pwla shard's fitted items and the sums of their errors (E, L2 = √E, L∞), so that shards add up and the
/// job's means are exact whichever worker fitted what.
/// </summary>
/// <param name="Fitted">Items fitted (failed ones are not counted).</param>
/// <param name="SumError">Sum of the least-squares errors E.</param>
/// <param name="SumL2">Sum of the L2 errors.</param>
/// <param name="SumLinf">Sum of the L∞ errors.</param>
public sealed record PwlaTotals(int Fitted, double SumError, double SumL2, double SumLinf)
{
    /// <summary>These totals with one more fit.</summary>
    public PwlaTotals Add(double error, double l2, double linf) => new(Fitted + 1, SumError + error, SumL2 + l2, SumLinf + linf);

    /// <summary>The sums of both.</summary>
    public PwlaTotals Add(PwlaTotals other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return new(Fitted + other.Fitted, SumError + other.SumError, SumL2 + other.SumL2, SumLinf + other.SumLinf);
    }

    /// <summary>The shard metrics' <c>pwla</c> object.</summary>
    public JsonObject ToJson() => new() { ["fitted"] = Fitted, ["sum_error"] = SumError, ["sum_l2"] = SumL2, ["sum_linf"] = SumLinf };

    /// <summary>Totals from their <c>pwla</c> object.</summary>
    public static PwlaTotals FromJson(JsonObject json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return new((int)json["fitted"]!.GetValue<double>(), json["sum_error"]!.GetValue<double>(), json["sum_l2"]!.GetValue<double>(), json["sum_linf"]!.GetValue<double>());
    }
}

/// <summary>
/// Merges <see cref="ShardReport"/>s into a job's metrics: summed counts, the merged
/// <see cref="MetricAccumulator"/> (exact in any order) and its summary per method, and for pwla the
/// summed errors with their means per fitted item.
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

        if (reports.Where(r => r.Pwla is not null).Select(r => r.Pwla!).ToList() is { Count: > 0 } fits)
        {
            var sum = fits.Aggregate((x, y) => x.Add(y));
            var pwla = sum.ToJson();
            if (sum.Fitted > 0)
            {
                pwla["mean_error"] = sum.SumError / sum.Fitted;
                pwla["mean_l2"] = sum.SumL2 / sum.Fitted;
                pwla["mean_linf"] = sum.SumLinf / sum.Fitted;
            }

            json["pwla"] = pwla;
        }

        return json;
    }
}
