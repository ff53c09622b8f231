using System.Net;
using Salient.Client;

namespace Salient.Cluster.Tests.Runtime;

/// <summary>The examples of docs/sdk.md, run against the live cluster so that the guide stays true.</summary>
[Collection(LiveClusterGroup.Name)]
public sealed class SdkGuideTests(LiveCluster cluster)
{
    private static readonly byte[] PngSignature = [0x89, (byte)'P', (byte)'N', (byte)'G'];

    [Fact]
    public async Task The_guides_explain_example_downloads_an_overlay_per_item_and_the_eval_example_reads_the_metrics()
    {
        await cluster.UploadImagesAsync("datasets/guide/", 4);
        var folder = Directory.CreateTempSubdirectory("salient-guide-").FullName;
        try
        {
            using var cancel = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            var log = new StringWriter();
            var downloaded = await SdkGuide.ExplainAsync(cluster.Client, "datasets/guide/", folder, log, cancel.Token);
            Assert.Equal(4, downloaded);
            Assert.All(Directory.GetFiles(folder), f => Assert.Equal(PngSignature, File.ReadAllBytes(f)[..4]));
            Assert.Contains("succeeded", log.ToString(), StringComparison.Ordinal);

            var deletion = await SdkGuide.EvaluateAsync(cluster.Client, "datasets/guide/", cancel.Token);
            Assert.InRange(deletion, 0, 1);

            var refused = await Assert.ThrowsAsync<SalientApiException>(() => SdkGuide.SubmitAsync(cluster.Client, "no-such-model", cancel.Token));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

/// <summary>docs/sdk.md's examples, word for word.</summary>
internal static class SdkGuide
{
    // docs/sdk.md: explain
    public static async Task<int> ExplainAsync(SalientClient client, string prefix, string folder, TextWriter log, CancellationToken cancellationToken)
    {
        var job = await client.SubmitJobAsync(new JobSubmission
        {
            Model = "resnet",
            Inputs = new JobInputs(Prefix: prefix),
            Methods = ["gradcam"],
            Targets = "top1",
            Outputs = ["png", "overlay"],
            ShardSize = 2,
        }, cancellationToken);

        // Progress over server-sent events; the stream reconnects by itself and ends when the job does.
        await foreach (var progress in client.WatchJobAsync(job.Id, cancellationToken))
        {
            await log.WriteLineAsync($"{progress.State}: {progress.Items.Done}/{progress.Items.Total} items, {progress.Items.Failed} failed");
        }

        // Every record, page by page: one per item × method × target, or the item's error.
        var downloaded = 0;
        await foreach (var record in client.GetAllResultsAsync(job.Id, pageSize: 500, cancellationToken: cancellationToken))
        {
            if (record.Error is not null)
            {
                await log.WriteLineAsync($"{record.Item}: {record.Error}");
                continue;
            }

            var name = Path.Combine(folder, $"{Path.GetFileNameWithoutExtension(record.Item)}-{record.Method}-c{record.Class}.overlay.png");
            await using var file = File.Create(name);
            await client.DownloadBlobAsync(job.Id, record.Outputs!["overlay"], file, cancellationToken);
            downloaded++;
        }

        return downloaded;
    }
    // end

    // docs/sdk.md: eval
    public static async Task<double> EvaluateAsync(SalientClient client, string prefix, CancellationToken cancellationToken)
    {
        var job = await client.SubmitJobAsync(new JobSubmission
        {
            Kind = "eval",
            Model = "resnet",
            Inputs = new JobInputs(Prefix: prefix),
            Methods = ["gradcam", "gradient"],
            Metrics = ["deletion", "insertion"],
        }, cancellationToken);
        await foreach (var progress in client.WatchJobAsync(job.Id, cancellationToken))
        {
            job = progress;
        }

        if (job.State != "succeeded")
        {
            throw new InvalidOperationException($"Job {job.Id} {job.State}: {job.Error}");
        }

        // Per method: means, spreads and histograms of each metric, and the mean curves.
        var metrics = await client.GetMetricsAsync(job.Id, cancellationToken);
        return metrics["summary"]!["gradcam"]!["scalars"]!["deletion"]!["mean"]!.GetValue<double>();
    }
    // end

    public static Task<Job> SubmitAsync(SalientClient client, string model, CancellationToken cancellationToken) =>
        client.SubmitJobAsync(new JobSubmission { Model = model, Inputs = new JobInputs(Prefix: "datasets/guide/") }, cancellationToken);
}
