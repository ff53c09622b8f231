using System.Diagnostics;
using System.Globalization;
using System.Text;
using Salient.Client;
using Salient.Storage;

namespace Salient.Cluster.Tests.Runtime;

/// <summary>
/// The embedded single-process cluster as a user starts it (<c>salient serve --role all --storage FOLDER</c>): one
/// silo with localhost clustering and grain state in files, the REST API on it; killed with SIGKILL mid-job and
/// started again on the same folder, it resumes the job to exactly one record per item.
/// </summary>
[Collection(Grains.SiloTestGroup.Name)]
public sealed class EmbeddedSiloTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("salient-embedded-").FullName;
    private readonly int _port = ScriptedCluster.FreePortBlock();

    private string Listen => $"http://127.0.0.1:{_port}";

    [Fact]
    public async Task A_killed_and_restarted_embedded_cluster_resumes_its_job_with_one_record_per_item()
    {
        var blobs = BlobStore.Open(Path.Combine(_dir, "blobs"));
        var images = Directory.GetFiles(Fixtures.Path("images")).Where(f => f.EndsWith(".jpg", StringComparison.Ordinal) || f.EndsWith(".png", StringComparison.Ordinal)).Order().ToArray();
        var items = Enumerable.Range(0, 96).Select(i => $"data/{i:D4}{Path.GetExtension(images[i % images.Length])}").ToList();
        for (var i = 0; i < items.Count; i++)
        {
            await blobs.PutAsync(items[i], await File.ReadAllBytesAsync(images[i % images.Length]), null, overwrite: true);
        }

        var serve = await ServeAsync();
        using var client = new SalientClient(new Uri(Listen), apiKey: null);
        await using (var model = File.OpenRead(Fixtures.Path("models", "resnet_basic.onnx")))
        await using (var card = File.OpenRead(Fixtures.Path("models", "resnet_basic.json")))
        {
            await client.UploadModelAsync("resnet", model, card);
        }

        var job = await client.SubmitJobAsync(new JobSubmission
        {
            Model = "resnet", Inputs = new JobInputs(Prefix: "data/"), Methods = ["gradcam"], Outputs = ["png"], ShardSize = 2,
        });
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120)))
        {
            while ((await client.GetJobAsync(job.Id, timeout.Token)).Shards.Done < 3)
            {
                await Task.Delay(100, timeout.Token);
            }
        }

        serve.Kill();
        var before = await client.GetJobAsync(job.Id).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default);
        await serve.WaitForExitAsync();
        serve.Dispose();

        using var restarted = await ServeAsync();
        using var finish = new CancellationTokenSource(TimeSpan.FromSeconds(180));
        Job? last = null;
        await foreach (var update in client.WatchJobAsync(job.Id, finish.Token))
        {
            last = update;
        }

        Assert.Equal("succeeded", last!.State);
        // It was killed mid-job: the restarted process finished the rest.
        Assert.True(before is null || before.Shards.Done < before.Shards.Total);
        Assert.Equal(new ItemCounts(96, 96, 0), last.Items);
        while (!await blobs.ExistsAsync(BlobLayout.Manifest(job.Id), finish.Token))
        {
            await Task.Delay(100, finish.Token);
        }

        var records = Encoding.UTF8.GetString(await blobs.ReadAllBytesAsync(BlobLayout.Manifest(job.Id)))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("item").GetString()!).ToList();
        Assert.Equal(items, records);
        var metrics = await client.GetMetricsAsync(job.Id);
        Assert.Equal(96, metrics["items"]!.GetValue<int>());
        Assert.Equal(96, metrics["records"]!.GetValue<int>());
        restarted.Kill();
        await restarted.WaitForExitAsync();
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private async Task<Process> ServeAsync()
    {
        var start = new ProcessStartInfo("bash") { UseShellExecute = false };
        var port = (int offset) => (_port + offset).ToString(CultureInfo.InvariantCulture);
        foreach (var argument in (string[])["-c", "exec dotnet \"$@\" >>\"$SALIENT_TEST_LOG\" 2>&1", "serve", ScriptedCluster.Salient, "serve", "--role", "all",
            "--storage", Path.Combine(_dir, "state"), "--blob", Path.Combine(_dir, "blobs"), "--listen", Listen,
            "--silo-port", port(1), "--gateway-port", port(2), "--model-cache", Path.Combine(_dir, "models"), "--lease-seconds", "3"])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["SALIENT_TEST_LOG"] = Path.Combine(_dir, "serve.log");
        var process = Process.Start(start)!;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (true)
        {
            Assert.False(process.HasExited, $"salient serve exited; see {Path.Combine(_dir, "serve.log")}");
            try
            {
                if ((await http.GetAsync(new Uri(Listen + "/readyz"), timeout.Token)).IsSuccessStatusCode)
                {
                    return process;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !timeout.IsCancellationRequested)
            {
            }

            await Task.Delay(200, timeout.Token);
        }
    }
}
