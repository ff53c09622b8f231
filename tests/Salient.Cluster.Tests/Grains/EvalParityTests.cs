using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orleans.Runtime;
using Salient.Client;
using Salient.Cluster.Contracts;
using Salient.Methods.Metrics;

namespace Salient.Cluster.Tests.Grains;

/// <summary>
/// An eval job through the real shard runner on in-process silos, with a worker silo and the job grain's silo
/// killed mid-job: its metrics equal those of <c>salient eval</c> run as a single process on the same items.
/// </summary>
[Collection(SiloTestGroup.Name)]
public sealed class EvalParityTests
{
    private static readonly string[] Methods = ["gradcam", "gradient"];

    [Fact]
    public async Task An_eval_job_that_lost_a_worker_silo_and_its_job_grain_s_silo_has_the_metrics_of_salient_eval()
    {
        // The primary hosts the test membership and must live: it hosts nothing of ours.
        await using var cluster = await GrainCluster.StartAsync(["worker:none-here", "coordinator", "coordinator", "worker:resnet", "worker:resnet"], realRunner: true);
        var blobs = cluster.Blobs;
        var onnx = await File.ReadAllBytesAsync(Fixtures.Path("models", "resnet_basic.onnx"));
        var sha = Convert.ToHexStringLower(SHA256.HashData(onnx));
        await blobs.PutAsync(BlobLayout.Model(sha), onnx, null, overwrite: true);
        await blobs.PutAsync(BlobLayout.ModelCard(sha), await File.ReadAllBytesAsync(Fixtures.Path("models", "resnet_basic.json")), null, overwrite: true);
        var images = Directory.GetFiles(Fixtures.Path("images")).Where(f => f.EndsWith(".jpg", StringComparison.Ordinal) || f.EndsWith(".png", StringComparison.Ordinal)).Order().ToArray();
        var local = Directory.CreateTempSubdirectory("salient-eval-parity-").FullName;
        var items = new List<string>();
        for (var i = 0; i < 48; i++)
        {
            var name = $"{i:D3}{Path.GetExtension(images[i % images.Length])}";
            var bytes = await File.ReadAllBytesAsync(images[i % images.Length]);
            await blobs.PutAsync("data/" + name, bytes, null, overwrite: true);
            await File.WriteAllBytesAsync(Path.Combine(local, name), bytes);
            items.Add("data/" + name);
        }

        var submission = new JobSubmission { Kind = "eval", Model = "resnet", Inputs = new JobInputs(Items: items), Methods = Methods, Metrics = ["deletion", "insertion"], ShardSize = 2 };
        var id = Guid.CreateVersion7();
        await cluster.Job(id).SubmitAsync(new JobPlan(id, "eval", JsonSerializer.Serialize(submission, SalientJson.Options), new ModelAddress("resnet", BlobLayout.Model(sha), sha),
            items, submission.ShardSize, 0, 5));

        await WaitDoneAsync(cluster, id, 2);
        await cluster.Cluster.KillSiloAsync(cluster.Cluster.SecondarySilos[2]);
        await WaitDoneAsync(cluster, id, 6);
        var home = await cluster.Grains.GetGrain<IManagementGrain>(0).GetActivationAddress(cluster.Job(id));
        await cluster.Cluster.KillSiloAsync(cluster.Cluster.SecondarySilos.Single(s => s.SiloAddress.Equals(home)));

        var job = await cluster.WaitFinishedAsync(id, TimeSpan.FromMinutes(4));
        Assert.Equal("succeeded", job.State);
        var records = await cluster.ManifestAsync(id);
        Assert.Equal(items.Count * Methods.Length, records.Count);
        Assert.Equal(records.Count, records.Select(r => (r.GetProperty("item").GetString(), r.GetProperty("method").GetString())).Distinct().Count());

        // The same items through salient eval, one process, batches as the shards'.
        await File.WriteAllLinesAsync(Path.Combine(local, "manifest.jsonl"), items.Select(i => JsonSerializer.Serialize(new { image = i["data/".Length..] })));
        var report = Path.Combine(local, "report");
        await RunSalientAsync("eval", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--methods", string.Join(',', Methods), "--dataset", Path.Combine(local, "manifest.jsonl"),
            "--metrics", "deletion,insertion", "--batch", "2", "--examples", "0", "--out", report);
        var single = MetricAccumulator.FromJson(JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(report, "metrics.json")))!["accumulator"]!.ToJsonString());
        var stored = JsonNode.Parse(await blobs.ReadAllBytesAsync(BlobLayout.Metrics(id)))!;
        Assert.Equal(items.Count, stored["items"]!.GetValue<int>());
        var merged = MetricAccumulator.FromJson(stored["accumulator"]!.ToJsonString());
        Assert.Equal(single.Methods.Order(), merged.Methods.Order());
        foreach (var method in Methods)
        {
            AssertClose(Summary(single, method), Summary(merged, method), method);
            // The job's summary is the merged accumulator's.
            AssertClose(Summary(merged, method), stored["summary"]![method]!, method);
        }

        Directory.Delete(local, recursive: true);
    }

    private static JsonNode Summary(MetricAccumulator accumulator, string method) =>
        JsonNode.Parse(JsonSerializer.Serialize(accumulator.Summarize(method), SalientJson.Options))!;

    /// <summary>Equal JSON, numbers within a relative 1e-9 (sums merged in another order round differently).</summary>
    private static void AssertClose(JsonNode? expected, JsonNode? actual, string path)
    {
        switch (expected)
        {
            case JsonObject o:
                var other = Assert.IsType<JsonObject>(actual);
                Assert.Equal(o.Select(p => p.Key).Order(), other.Select(p => p.Key).Order());
                foreach (var (key, value) in o)
                {
                    AssertClose(value, other[key], $"{path}.{key}");
                }

                break;
            case JsonArray a:
                var array = Assert.IsType<JsonArray>(actual);
                Assert.Equal(a.Count, array.Count);
                for (var i = 0; i < a.Count; i++)
                {
                    AssertClose(a[i], array[i], $"{path}[{i}]");
                }

                break;
            case JsonValue v when v.TryGetValue<double>(out var x):
                var y = actual!.GetValue<double>();
                Assert.True(Math.Abs(x - y) <= 1e-9 * Math.Max(1, Math.Abs(x)), $"{path}: {x} vs {y}");
                break;
            default:
                Assert.Equal(expected?.ToJsonString(), actual?.ToJsonString());
                break;
        }
    }

    private static async Task WaitDoneAsync(GrainCluster cluster, Guid id, int done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (true)
        {
            var job = (await cluster.Job(id).GetAsync())!;
            Assert.Null(job.FinishedAt);
            if (job.Shards.Done >= done)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no progress: {job}");
            await Task.Delay(50);
        }
    }

    private static async Task RunSalientAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in (string[])[ScriptedCluster.Salient, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"salient {string.Join(' ', arguments)} exited {process.ExitCode}:\n{await output}\n{await errors}");
    }
}
