using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Salient.Client;
using Salient.Cluster.Coordinator;
using Salient.Cluster.Internal;
using Salient.Cluster.Worker;
using Salient.Methods.Pipeline;
using Salient.Storage;
using Salient.Tests;

namespace Salient.Cluster.Tests;

/// <summary>
/// A job kind added from outside Salient, as one class and one <see cref="JobKinds.Register"/> call: the coordinator's
/// validation knows it, and a worker's shard runner runs it, writing its outputs and records like the built-in kinds.
/// </summary>
public sealed class JobKindPluginTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("salient-kind-").FullName;

    static JobKindPluginTests() => JobKinds.Register(new LetterCountKind());

    [Fact]
    public void The_coordinator_validates_a_registered_kind_by_its_own_rules_and_lists_kinds_for_an_unknown_one()
    {
        Assert.Null(CoordinatorApi.Validate(new JobSubmission { Kind = "letters", Inputs = new JobInputs(Items: ["ab"]) }));
        Assert.Equal("inputs: letters jobs take inputs.items.", CoordinatorApi.Validate(new JobSubmission { Kind = "letters", Inputs = new JobInputs(Prefix: "p/") }));
        Assert.Equal("shard_size: must lie in [1, 100000].", CoordinatorApi.Validate(new JobSubmission { Kind = "letters", Inputs = new JobInputs(Items: ["ab"]), ShardSize = 0 }));
        var unknown = CoordinatorApi.Validate(new JobSubmission { Kind = "nope", Inputs = new JobInputs(Items: ["ab"]) });
        Assert.Equal($"kind: 'nope' is not one of {string.Join(", ", JobKinds.Names)}.", unknown);
        Assert.Contains("letters", unknown, StringComparison.Ordinal);
        Assert.Contains("explain", unknown, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => JobKinds.Register(new LetterCountKind()));
    }

    [Fact]
    public async Task A_worker_runs_a_shard_of_a_registered_kind_and_completes_it()
    {
        var blobs = BlobStore.Open(_dir);
        var job = new JobSubmission { Kind = "letters", Inputs = new JobInputs(Items: ["abc", "", "hello"]) };
        var leases = new RecordingShardLeases();
        var options = new WorkerOptions { ModelCache = Path.Combine(_dir, "cache") };
        var runner = new ShardRunner(leases, blobs, new ModelCache(blobs, options.ModelCache), new JobDataset(blobs), options, NullLogger.Instance);
        var id = Guid.CreateVersion7();
        var lease = new ShardLease(1, id, 0, job.Kind, JsonSerializer.SerializeToElement(job, SalientJson.Options), ModelRef.None, 0, job.Inputs.Items!, 1, 3,
            Guid.NewGuid(), 7, DateTimeOffset.UtcNow.AddMinutes(5));

        await runner.RunAsync(lease);

        Assert.Null(leases.Failure);
        Assert.Equal(3, leases.Report!["items"]!.GetValue<int>());
        Assert.Equal(1, leases.Report["failed"]!.GetValue<int>());
        var records = Encoding.UTF8.GetString(await ShardRecords.ConcatenateAsync(blobs, id, [(0, ShardReport.FromJson(JsonNode.Parse(leases.Report.ToJsonString())!.AsObject()))]))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["abc", "", "hello"], records.Select(r => r!["item"]!.GetValue<string>()));
        Assert.Equal(5, records[2]!["metrics"]!["letters"]!.GetValue<double>());
        Assert.Equal("An empty item has no letters.", records[1]!["error"]!.GetValue<string>());
        Assert.Equal("5", Encoding.UTF8.GetString(await blobs.ReadAllBytesAsync(BlobLayout.Job(id) + "items/2/letters.txt")));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Counts each item's letters: no model, one output file and one record per item.</summary>
    private sealed class LetterCountKind : JobKind
    {
        public override string Name => "letters";

        public override bool UsesModel => false;

        public override string? Validate(JobSubmission job) => job.Inputs?.Items is null ? "inputs: letters jobs take inputs.items." : null;

        public override async Task<ShardReport> RunAsync(ShardRun shard)
        {
            for (var i = 0; i < shard.Lease.Items.Count; i++)
            {
                var item = shard.Lease.Items[i];
                if (item.Length == 0)
                {
                    shard.Records.Add(new ManifestRecord(item, "letters", null, null, null, null, null, "An empty item has no letters."));
                    continue;
                }

                await shard.EnsureLeaseAsync();
                var path = $"items/{shard.Lease.FirstItem + i}/letters.txt";
                await shard.PutOutputAsync(path, Encoding.UTF8.GetBytes(item.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                shard.Records.Add(new ManifestRecord(item, "letters", null, null, null, null, new Dictionary<string, string> { ["txt"] = path }, null,
                    new Dictionary<string, double> { ["letters"] = item.Length }));
            }

            return await shard.FinishAsync();
        }
    }
}
