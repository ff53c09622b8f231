using System.Text.Json.Nodes;
using Orleans.Runtime;
using Salient.Cluster.Contracts;

namespace Salient.Cluster.Tests.Grains;

[Collection(SiloTestGroup.Name)]
public sealed class JobGrainTests
{
    [Fact]
    public async Task A_job_on_a_model_no_silo_hosts_waits_and_says_so_then_runs_only_on_the_silo_that_hosts_it()
    {
        await using var cluster = await GrainCluster.StartAsync(["coordinator", "worker:m1", "worker:m2"], initial: 2);
        var job = await cluster.SubmitAsync("m2", items: 6, shardSize: 2);
        await Task.Delay(600);
        job = (await cluster.Job(job.Id).GetAsync())!;
        Assert.Equal("queued", job.State);
        Assert.Contains("no worker silo hosts model 'm2'", job.Waiting, StringComparison.Ordinal);

        // Placement refuses a model grain on a silo whose metadata does not list the model.
        var m1Silo = cluster.Cluster.SecondarySilos[0].SiloAddress.ToParsableString();
        await Assert.ThrowsAnyAsync<Exception>(() => cluster.Grains.GetGrain<IModelGrain>(new ModelGrainKey("m2", m1Silo, "cpu").ToString()).GetLoadAsync());

        var m2 = await cluster.StartSiloAsync();
        job = await cluster.WaitFinishedAsync(job.Id);
        Assert.Equal("succeeded", job.State);
        var records = await cluster.ManifestAsync(job.Id);
        Assert.Equal(6, records.Count);
        Assert.All(records, r => Assert.Equal(m2.SiloAddress.ToParsableString(), r.GetProperty("silo").GetString()));
    }

    [Fact]
    public async Task Killing_a_worker_silo_mid_job_loses_and_repeats_nothing()
    {
        await using var cluster = await GrainCluster.StartAsync(["coordinator", "worker:m", "worker:m"], shardDelayMs: 150);
        var job = await cluster.SubmitAsync("m", items: 60, shardSize: 2);
        await WaitDoneShardsAsync(cluster, job.Id, 4);
        await cluster.Cluster.KillSiloAsync(cluster.Cluster.SecondarySilos[0]);

        job = await cluster.WaitFinishedAsync(job.Id);
        await AssertExactlyOnceAsync(cluster, job, 60);
        var shards = await cluster.Job(job.Id).ListShardsAsync();
        Assert.Contains(shards, s => s.Errors.Count > 0);
    }

    [Fact]
    public async Task Killing_the_silo_of_the_job_grain_mid_job_loses_and_repeats_nothing()
    {
        // The primary hosts the test membership and must live: it hosts nothing of ours.
        await using var cluster = await GrainCluster.StartAsync(["worker:none-here", "coordinator", "coordinator", "worker:m"], shardDelayMs: 150);
        var job = await cluster.SubmitAsync("m", items: 40, shardSize: 2);
        await WaitDoneShardsAsync(cluster, job.Id, 3);
        var management = cluster.Grains.GetGrain<IManagementGrain>(0);
        var home = await management.GetActivationAddress(cluster.Job(job.Id));
        var silo = cluster.Cluster.SecondarySilos.Single(s => s.SiloAddress.Equals(home));
        await cluster.Cluster.KillSiloAsync(silo);

        job = await cluster.WaitFinishedAsync(job.Id, TimeSpan.FromSeconds(120));
        await AssertExactlyOnceAsync(cluster, job, 40);
        Assert.NotEqual(home, await management.GetActivationAddress(cluster.Job(job.Id)));
    }

    [Fact]
    public async Task Reports_with_a_stale_token_are_ignored_and_poison_shards_are_dead_lettered_alone()
    {
        await using var cluster = await GrainCluster.StartAsync(["all:m"], shardDelayMs: 20);
        // Shard 1 stalls past its lease and reports late; shard 3 is poison.
        var job = await cluster.SubmitAsync("m", items: 10, shardSize: 2, maxAttempts: 2,
            name: i => i switch { 2 => "stall-a.png", 6 => "poison-a.png", _ => $"img{i:D3}.png" });
        var grain = cluster.Job(job.Id);
        var shard = (await grain.ListShardsAsync())[1];
        Assert.False(await grain.CompleteAsync(1, shard.Token + 1, "{}"));
        Assert.False(await grain.FailAsync(1, shard.Token - 1, "late"));
        Assert.Equal(new[] { false, false }, await grain.CompleteManyAsync([new ShardCompletion(1, shard.Token + 1, "{}"), new ShardCompletion(1, shard.Token - 1, "{}")]));

        job = await cluster.WaitFinishedAsync(job.Id);
        Assert.Equal("failed", job.State);
        Assert.Equal(new ShardCountsRecord(0, 0, 4, 1, 0), job.Shards);
        var shards = await grain.ListShardsAsync();
        Assert.Equal(2, shards[3].Errors.Count);
        Assert.Equal("lease expired", shards[1].Errors.Single().Message);
        // The stalled first attempt reported after the second had won: the late report changed nothing.
        Assert.False(await grain.CompleteAsync(1, shard.Token, "{}"));
        var records = await cluster.ManifestAsync(job.Id);
        Assert.Equal(8, records.Count);
        Assert.Equal(8, records.Select(r => r.GetProperty("item").GetString()).Distinct().Count());
        var metrics = JsonNode.Parse(job.Metrics!)!;
        Assert.Equal(8, (int)metrics["pwla"]!["fitted"]!.GetValue<double>());
        // Repeats of the winning reports, batched as a worker silo sends them, are ignored too.
        var done = (await grain.ListShardsAsync()).Where(s => s.State == "done").Select(s => new ShardCompletion(s.Index, s.Token, "{}")).ToList();
        Assert.All(await grain.CompleteManyAsync([.. done, .. done]), Assert.False);
        Assert.Equal(job.Metrics, (await grain.GetAsync())!.Metrics);
    }

    [Fact]
    public async Task Jobs_on_one_model_share_its_grain_by_priority_then_submission_order()
    {
        // One model grain running two shards at a time and queueing eight; each job keeps up to four in flight there.
        await using var cluster = await GrainCluster.StartAsync(["all:m"], shardDelayMs: 150);
        ScriptedExecutor.Gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        // The low-priority job's first shards hold both slots until the urgent jobs are queued behind them, so the
        // order below depends on the grain's queue alone, not on how fast the submissions are on a busy machine.
        var low = await cluster.SubmitAsync("m", items: 20, shardSize: 2, priority: 1, name: i => i < 8 ? $"hold{i:D3}.png" : $"img{i:D3}.png");
        await WaitStartedAsync(low.Id, 2);
        var first = await cluster.SubmitAsync("m", items: 12, shardSize: 2, priority: 0);
        var second = await cluster.SubmitAsync("m", items: 12, shardSize: 2, priority: 0);
        // Both urgent jobs hold their full credit at the grain: its full queue handed low-priority shards back for
        // the second job's, which a full queue of earlier work would otherwise refuse until that work had run.
        await WaitLeasedAsync(cluster, first.Id, 4);
        await WaitLeasedAsync(cluster, second.Id, 4);
        ScriptedExecutor.Gate.SetResult();
        foreach (var job in new[] { low, first, second })
        {
            Assert.Equal("succeeded", (await cluster.WaitFinishedAsync(job.Id)).State);
        }

        // After the shards that held the slots, the earlier urgent job ran before the later, and both before the rest
        // of the low-priority job.
        var order = ScriptedExecutor.Started.Select(s => s.Job).Where(j => j == low.Id || j == first.Id || j == second.Id).ToList();
        var shown = string.Join(' ', order.Select(j => j == low.Id ? "L" : j == first.Id ? "A" : "B"));
        var arrived = order.IndexOf(first.Id);
        Assert.True(arrived == 2, shown);
        Assert.True(order.LastIndexOf(first.Id) < order.IndexOf(second.Id), shown);
        Assert.True(order.Skip(arrived).TakeWhile(j => j != low.Id).Count() == 12, shown);
    }

    private static async Task WaitLeasedAsync(GrainCluster cluster, Guid id, int leased)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await cluster.Job(id).GetAsync())!.Shards.Leased < leased)
        {
            Assert.True(DateTime.UtcNow < deadline, $"job {id} never had {leased} shards leased");
            await Task.Delay(20);
        }
    }

    private static async Task WaitStartedAsync(Guid id, int started)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (ScriptedExecutor.Started.Count(s => s.Job == id) < started)
        {
            Assert.True(DateTime.UtcNow < deadline, "nothing started");
            await Task.Delay(20);
        }
    }

    private static async Task WaitDoneShardsAsync(GrainCluster cluster, Guid id, int done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await cluster.Job(id).GetAsync())!.Shards.Done < done)
        {
            Assert.True(DateTime.UtcNow < deadline, "no progress");
            await Task.Delay(50);
        }
    }

    /// <summary>One record and one output per item, and metrics that merged every shard exactly once.</summary>
    private static async Task AssertExactlyOnceAsync(GrainCluster cluster, JobSnapshot job, int items)
    {
        Assert.Equal("succeeded", job.State);
        var records = await cluster.ManifestAsync(job.Id);
        var names = records.Select(r => r.GetProperty("item").GetString()!).ToList();
        Assert.Equal(items, names.Count);
        Assert.Equal(items, names.Distinct().Count());
        foreach (var name in names)
        {
            Assert.True(await cluster.Blobs.ExistsAsync($"{BlobLayout.Job(job.Id)}items/{name}/m-c0.npy"));
        }

        var metrics = JsonNode.Parse(job.Metrics!)!;
        Assert.Equal(items, (int)metrics["items"]!.GetValue<double>());
        Assert.Equal(items, (int)metrics["pwla"]!["fitted"]!.GetValue<double>());
        Assert.Equal(names.Sum(ScriptedExecutor.ValueOf), metrics["pwla"]!["sum_error"]!.GetValue<double>());
    }
}
