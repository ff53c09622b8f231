using System.Text.Json.Nodes;
using Salient.Client;
using Salient.Cluster.Coordinator;

namespace Salient.Cluster.Tests;

/// <summary>The coordinator's checks of <c>pwla</c> submissions, and the merge of their shards' error sums.</summary>
public sealed class PwlaSubmissionTests
{
    private static readonly JobSubmission Valid = new()
    {
        Kind = "pwla", Inputs = new JobInputs(Items: ["sin(6*x)", "data/s.csv"]), Pwla = new PwlaSpec(4, Interval: [0, 1]),
    };

    [Fact]
    public void A_valid_submission_passes_and_samples_alone_need_no_interval()
    {
        Assert.Null(CoordinatorApi.Validate(Valid));
        Assert.Null(CoordinatorApi.Validate(Valid with { Inputs = new JobInputs(Items: ["s.CSV"]), Pwla = new PwlaSpec(2, Method: "dp") }));
    }

    [Theory]
    [InlineData("model")]
    [InlineData("inputs")]
    [InlineData("pwla")]
    [InlineData("pwla.segments")]
    [InlineData("pwla.method")]
    [InlineData("pwla.method dp")]
    [InlineData("pwla.interval")]
    [InlineData("pwla.interval missing")]
    [InlineData("inputs.items[1]")]
    [InlineData("shard_size")]
    public void Each_bad_field_is_named(string field)
    {
        var job = field switch
        {
            "model" => Valid with { Model = "resnet" },
            "inputs" => Valid with { Inputs = new JobInputs(Prefix: "data/") },
            "pwla" => Valid with { Pwla = null },
            "pwla.segments" => Valid with { Pwla = Valid.Pwla! with { Segments = 0 } },
            "pwla.method" => Valid with { Pwla = Valid.Pwla! with { Method = "magic" } },
            "pwla.method dp" => Valid with { Pwla = Valid.Pwla! with { Method = "dp", Continuous = true } },
            "pwla.interval" => Valid with { Pwla = Valid.Pwla! with { Interval = [1, 0] } },
            "pwla.interval missing" => Valid with { Pwla = Valid.Pwla! with { Interval = null } },
            "inputs.items[1]" => Valid with { Inputs = new JobInputs(Items: ["x", "sinh(x)"]) },
            _ => Valid with { ShardSize = 0 },
        };
        Assert.StartsWith(field.Split(' ')[0] + ":", CoordinatorApi.Validate(job), StringComparison.Ordinal);
    }

    [Fact]
    public void Shard_error_sums_merge_into_means_per_fitted_item()
    {
        // As the store hands them back: parsed from the stored JSON.
        static JsonObject Stored(ShardReport report) => JsonNode.Parse(report.ToJson().ToJsonString())!.AsObject();
        ShardMetrics Shard(int index, PwlaTotals totals) => new(index, Stored(new ShardReport(2, 2 - totals.Fitted, 2, index, null, totals)));

        var merged = new ShardReportMerger().Merge([Shard(0, new PwlaTotals(2, 1, 2, 3)), Shard(1, new PwlaTotals(1, 2, 4, 3))]);

        Assert.Equal(1, merged["failed"]!.GetValue<int>());
        var pwla = merged["pwla"]!;
        Assert.Equal(3, pwla["fitted"]!.GetValue<int>());
        Assert.Equal(1, pwla["mean_error"]!.GetValue<double>(), 12);
        Assert.Equal(2, pwla["mean_l2"]!.GetValue<double>(), 12);
        Assert.Equal(2, pwla["mean_linf"]!.GetValue<double>(), 12);
        Assert.Equal(new PwlaTotals(2, 1, 2, 3), ShardReport.FromJson(Stored(new ShardReport(2, 0, 2, 7, null, new PwlaTotals(2, 1, 2, 3)))).Pwla);
    }
}
