using System.Net;
using System.Text;
using System.Text.Json;
using Salient.Client;

namespace Salient.Cluster.Tests.Runtime;

/// <summary><c>pwla</c> jobs through the coordinator and the pinned worker processes, which need no model for them.</summary>
[Collection(LiveClusterGroup.Name)]
public sealed class PwlaJobTests(LiveCluster cluster)
{
    private SalientClient Client => cluster.Client;

    [Fact]
    public async Task A_pwla_job_fits_every_item_records_the_bad_one_and_merges_mean_errors()
    {
        var csv = string.Join('\n', ["x,y", .. Enumerable.Range(0, 41).Select(i => FormattableString.Invariant($"{i / 40.0},{Math.Abs((i / 40.0) - 0.5)}"))]);
        await cluster.Blobs.PutAsync("datasets/pwla/vee.csv", Encoding.UTF8.GetBytes(csv));
        string[] items = ["sin(6*x)", "datasets/pwla/vee.csv", "datasets/pwla/missing.csv", "step(x - 0.37) + x^2"];
        var job = await Client.SubmitJobAsync(new JobSubmission
        {
            Kind = "pwla", Inputs = new JobInputs(Items: items), Pwla = new PwlaSpec(Segments: 3, Interval: [0, 1], Seed: 1), ShardSize = 2,
        });
        Assert.Equal(2, job.Shards.Total);

        var done = await cluster.FinishAsync(job.Id);
        Assert.Equal("succeeded", done.State);
        Assert.Equal(new ItemCounts(4, 4, 1), done.Items);
        var records = await Client.GetResultsAsync(job.Id);
        Assert.Equal(items, records.Select(r => r.Item));
        Assert.All(records, r => Assert.Equal("lnn", r.Method));
        Assert.Contains("missing.csv", records[2].Error!, StringComparison.Ordinal);
        Assert.Null(records[2].Outputs);

        var fitted = records.Where(r => r.Error is null).ToList();
        foreach (var record in fitted)
        {
            var fit = JsonDocument.Parse(await cluster.Blobs.ReadAllBytesAsync(BlobLayout.Job(job.Id) + record.Outputs!["json"])).RootElement;
            Assert.Equal(3, fit.GetProperty("segments").GetInt32());
            Assert.Equal(2, fit.GetProperty("knots").GetArrayLength());
            Assert.Equal(record.Metrics!["l2"]!.GetValue<double>(), fit.GetProperty("l2").GetDouble());
            Assert.True(await cluster.Blobs.ExistsAsync(BlobLayout.Job(job.Id) + record.Outputs["png"]));
        }

        // Two segments of |x − 0.5| are exact: the third knot is free, the error is nil.
        Assert.Equal(0, fitted[1].Metrics!["linf"]!.GetValue<double>(), 6);
        var pwla = (await Client.GetMetricsAsync(job.Id))["pwla"]!;
        Assert.Equal(3, pwla["fitted"]!.GetValue<int>());
        Assert.Equal(fitted.Average(r => r.Metrics!["l2"]!.GetValue<double>()), pwla["mean_l2"]!.GetValue<double>(), 9);
        Assert.Equal(fitted.Average(r => r.Metrics!["linf"]!.GetValue<double>()), pwla["mean_linf"]!.GetValue<double>(), 9);
    }

    [Fact]
    public async Task A_bad_pwla_submission_is_a_400_naming_the_field()
    {
        var error = await Assert.ThrowsAsync<SalientApiException>(() => Client.SubmitJobAsync(new JobSubmission
        {
            Kind = "pwla", Inputs = new JobInputs(Items: ["sin(6*x"]), Pwla = new PwlaSpec(3, Interval: [0, 1]),
        }));
        Assert.Equal(HttpStatusCode.BadRequest, error.StatusCode);
        Assert.StartsWith("inputs.items[0]", error.Detail, StringComparison.Ordinal);
    }
}
