using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Serialization;
using Salient.Cluster.Contracts;
using Salient.Cluster.Silo;

namespace Salient.Cluster.Tests.Grains;

/// <summary>
/// Development builds from before the job grain kept its shard table in chunks wrote the table and the items into the
/// job's own state. This version does not convert such a state: a job grain that finds one refuses to run it, with an
/// error that names the job and says what to do (docs/deployment.md, "Upgrades").
/// </summary>
[Collection(SiloTestGroup.Name)]
public sealed class EarlierJobStateTests
{
    [Fact]
    public async Task A_job_state_in_the_layout_of_earlier_builds_is_refused_with_an_error_naming_the_job()
    {
        await using var cluster = await GrainCluster.StartAsync(["all:m"]);
        var id = Guid.CreateVersion7();
        var items = new[] { "a.png", "b.png", "c.png" };
        var earlier = new EarlierJobState
        {
            Plan = new JobPlan(id, "explain", "{}", new ModelAddress("m", "", ""), items, 2, 0, 3),
            State = JobState.Running,
            Epoch = 1,
            Shards = [new() { Index = 0, FirstItem = 0, Items = items[..2], State = ShardState.Done }, new() { Index = 1, FirstItem = 2, Items = items[2..] }],
            CreatedAt = DateTimeOffset.UtcNow,
        };
        // Written as those builds wrote it: Orleans' serializer, through the storage provider the silos read it with.
        using var services = new ServiceCollection()
            .AddSerializer(s => s.AddAssembly(typeof(EarlierJobState).Assembly).AddAssembly(typeof(FileGrainStorage).Assembly))
            .BuildServiceProvider();
        var storage = new FileGrainStorage(Path.Combine(cluster.Folder, "grains"), services.GetRequiredService<Serializer>());
        await storage.WriteStateAsync("job", cluster.Job(id).GetGrainId(), new GrainState<EarlierJobState>(earlier));

        var error = await Assert.ThrowsAnyAsync<Exception>(() => cluster.Job(id).GetAsync());
        var message = error.ToString();
        Assert.Contains($"Job {id}", message, StringComparison.Ordinal);
        Assert.Contains("Finish or cancel it with the build that started it", message, StringComparison.Ordinal);
        Assert.Contains("docs/deployment.md", message, StringComparison.Ordinal);
        // Nothing ran and nothing was written for it.
        Assert.False(await cluster.Blobs.ExistsAsync(BlobLayout.Manifest(id)));
    }
}

/// <summary>The job state of builds before the shard table's chunks, with the field ids they wrote.</summary>
[GenerateSerializer]
internal sealed class EarlierJobState
{
    [Id(0)] public JobPlan? Plan { get; set; }

    [Id(1)] public JobState State { get; set; }

    [Id(2)] public int Epoch { get; set; }

    [Id(3)] public List<EarlierShardEntry> Shards { get; set; } = [];

    [Id(6)] public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>A shard of that table: it held its own items.</summary>
[GenerateSerializer]
internal sealed class EarlierShardEntry
{
    [Id(0)] public int Index { get; set; }

    [Id(1)] public int FirstItem { get; set; }

    [Id(2)] public string[] Items { get; set; } = [];

    [Id(3)] public ShardState State { get; set; }
}
