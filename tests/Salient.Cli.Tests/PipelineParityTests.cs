using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Salient.Client;
using Salient.Cluster;
using Salient.Cluster.Internal;
using Salient.Cluster.Worker;
using Salient.Imaging;
using Salient.Storage;
using Salient.Tests;

namespace Salient.Cli.Tests;

/// <summary>
/// The same items through <c>salient explain</c> / <c>salient eval</c> and through a cluster worker's shard
/// runner (a folder blob store, the lease store faked): the manifest records are the same, field for field,
/// except <c>seconds</c> (timing) and the wording of a failed input's <c>error</c> (a file vs a blob; both name the item).
/// </summary>
public sealed class PipelineParityTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("salient-parity-");
    private readonly LocalFolderBlobStore _blobs;
    private readonly ModelRef _model;
    private readonly string[] _items;

    public PipelineParityTests()
    {
        _blobs = new LocalFolderBlobStore(Path.Combine(_work.FullName, "blobs"));
        var onnx = File.ReadAllBytes(Fixtures.Path("models", "resnet_basic.onnx"));
        var sha = Convert.ToHexStringLower(SHA256.HashData(onnx));
        Put(BlobLayout.Model(sha), onnx);
        Put(BlobLayout.ModelCard(sha), File.ReadAllBytes(Fixtures.Path("models", "resnet_basic.json")));
        _model = new ModelRef("resnet", BlobLayout.Model(sha), sha);

        // The same names in the CLI's working folder and in the blob store; the last image is truncated.
        var images = Directory.GetFiles(Fixtures.Path("images"), "*.png").Order(StringComparer.Ordinal).Take(3).ToArray();
        _items = [.. images.Select(i => "data/" + Path.GetFileName(i)), "data/broken.png"];
        for (var i = 0; i < _items.Length; i++)
        {
            var bytes = i < images.Length ? File.ReadAllBytes(images[i]) : File.ReadAllBytes(images[0])[..100];
            Put(_items[i], bytes);
            Directory.CreateDirectory(Path.Combine(_work.FullName, "data"));
            File.WriteAllBytes(Path.Combine(_work.FullName, _items[i]), bytes);
        }
    }

    public void Dispose() => _work.Delete(true);

    [Fact]
    public async Task Explain_records_and_files_of_the_cli_and_a_worker_are_the_same()
    {
        var (exit, _, error) = InWork(() => Cli.Run(["explain", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--method", "gradcam", "--target", "top2",
            "--format", "npy,png", "--batch", "2", "--out", "cli", .. _items]));
        Assert.True(exit == 2, error);
        Assert.Contains("deprecated", error, StringComparison.Ordinal);

        var submission = new JobSubmission { Kind = "explain", Model = "resnet", Inputs = new JobInputs(Items: _items), Methods = ["gradcam"], Targets = "topk:2", Outputs = ["npy", "png"] };
        var (id, worker) = await RunShardAsync(submission);

        var cli = Records(File.ReadAllText(Path.Combine(_work.FullName, "cli", "manifest.jsonl")));
        AssertSameRecords(cli, worker);
        Assert.Equal((3 * 2) + 1, cli.Count); // three images × two targets, and the broken one
        foreach (var output in cli.Where(r => r["outputs"] is not null).SelectMany(r => r["outputs"]!.AsObject()))
        {
            var path = output.Value!.GetValue<string>();
            Assert.Equal(File.ReadAllBytes(Path.Combine(_work.FullName, "cli", path)), await _blobs.ReadAllBytesAsync(BlobLayout.Job(id) + path));
        }
    }

    [Fact]
    public async Task Eval_records_of_the_cli_and_a_worker_are_the_same()
    {
        // Two objects on the first image, one on the second, none (top-1) on the others.
        var masks = new[] { ("data/left.png", true), ("data/right.png", false) };
        using (var first = RgbImage.Load(Path.Combine(_work.FullName, _items[0])))
        {
            foreach (var (name, left) in masks)
            {
                var pixels = Enumerable.Range(0, first.Width * first.Height).Select(p => p % first.Width < first.Width / 2 == left ? (byte)255 : (byte)0).ToArray();
                using var stream = new MemoryStream();
                PngEncoder.Write(stream, pixels, first.Width, first.Height, PngColorType.Gray);
                Put(name, stream.ToArray());
                File.WriteAllBytes(Path.Combine(_work.FullName, name), stream.ToArray());
            }
        }

        string[] lines =
        [
            JsonSerializer.Serialize(new { image = _items[0], objects = new[] { new { @class = 3, mask = "data/left.png" }, new { @class = 1, mask = "data/right.png" } } }),
            JsonSerializer.Serialize(new { image = _items[1], objects = new[] { new { @class = 5, mask = "data/left.png" } } }),
            .. _items[2..].Select(i => JsonSerializer.Serialize(new { image = i })),
        ];
        File.WriteAllLines(Path.Combine(_work.FullName, "manifest.jsonl"), lines);
        Put("manifest.jsonl", File.ReadAllBytes(Path.Combine(_work.FullName, "manifest.jsonl")));

        var (exit, _, error) = InWork(() => Cli.Run(["eval", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--methods", "gradcam,gradient", "--dataset", "manifest.jsonl",
            "--metrics", "deletion,pointing,miou", "--batch", "2", "--examples", "0", "--out", "report"]));
        Assert.True(exit == 2, error);

        var submission = new JobSubmission
        {
            Kind = "eval", Model = "resnet", Inputs = new JobInputs(Manifest: "manifest.jsonl"), Methods = ["gradcam", "gradient"], Metrics = ["deletion", "pointing", "miou"],
        };
        var (_, worker) = await RunShardAsync(submission);

        var cli = Records(File.ReadAllText(Path.Combine(_work.FullName, "report", "items.jsonl")));
        AssertSameRecords(cli, worker);
        Assert.Equal(2 * (2 + 1 + 1 + 1), cli.Count); // two methods × (two objects, one object, top-1, the broken image)
        Assert.Contains(cli, r => r["metrics"]?["miou"] is not null);
    }

    /// <summary>Runs one shard of <paramref name="submission"/> over every item, in batches of 2, and returns its records.</summary>
    private async Task<(Guid Id, List<JsonObject> Records)> RunShardAsync(JobSubmission submission)
    {
        var id = Guid.CreateVersion7();
        var leases = new RecordingShardLeases();
        var options = new WorkerOptions { BatchSize = 2, ModelCache = Path.Combine(_work.FullName, "cache") };
        var runner = new ShardRunner(leases, _blobs, new ModelCache(_blobs, options.ModelCache), new JobDataset(_blobs), options, NullLogger.Instance);
        var lease = new ShardLease(1, id, 0, submission.Kind, JsonSerializer.SerializeToElement(submission, SalientJson.Options), _model, 0, _items, 1, 5, Guid.NewGuid(), 1,
            DateTimeOffset.UtcNow.AddMinutes(5));

        await runner.RunAsync(lease);

        Assert.True(leases.Completed, leases.Failure);
        return (id, Records(System.Text.Encoding.UTF8.GetString(await ShardRecords.ConcatenateAsync(_blobs, id, [(0, ShardReport.FromJson(JsonNode.Parse(leases.Report!.ToJsonString())!.AsObject()))]))));
    }

    private static void AssertSameRecords(List<JsonObject> cli, List<JsonObject> worker)
    {
        Assert.Equal(cli.Count, worker.Count);
        for (var i = 0; i < cli.Count; i++)
        {
            Assert.Equal(cli[i]["seconds"] is null, worker[i]["seconds"] is null);
            if (cli[i]["error"] is { } error && cli[i]["class"] is null)
            {
                var item = cli[i]["item"]!.GetValue<string>();
                Assert.Contains(Path.GetFileName(item), error.GetValue<string>(), StringComparison.Ordinal);
                Assert.Contains(Path.GetFileName(item), worker[i]["error"]!.GetValue<string>(), StringComparison.Ordinal);
                cli[i].Remove("error");
                worker[i].Remove("error");
            }

            cli[i].Remove("seconds");
            worker[i].Remove("seconds");
            Assert.Equal(cli[i].ToJsonString(), worker[i].ToJsonString());
        }
    }

    private static List<JsonObject> Records(string jsonLines) =>
        [.. jsonLines.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject())];

    private void Put(string name, byte[] bytes) => _blobs.PutAsync(name, bytes, null, overwrite: true).GetAwaiter().GetResult();

    /// <summary>Runs the CLI in the work folder, so that its item names are the blob names.</summary>
    private (int Exit, string Output, string Error) InWork(Func<(int, string, string)> run)
    {
        var before = Environment.CurrentDirectory;
        Environment.CurrentDirectory = _work.FullName;
        try
        {
            return run();
        }
        finally
        {
            Environment.CurrentDirectory = before;
        }
    }
}
