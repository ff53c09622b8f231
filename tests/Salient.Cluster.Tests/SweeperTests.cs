namespace Salient.Cluster.Tests;

public sealed class SweeperTests(PostgresServer server) : StoreTests(server)
{
    [Fact]
    public async Task Expired_leases_are_requeued_with_doubling_backoff_then_dead_lettered_with_their_errors()
    {
        var job = await Store.CreateJobAsync(Job(items: 1, maxAttempts: 3));
        var worker = await WorkerAsync();

        for (var attempt = 1; attempt <= 2; attempt++)
        {
            Assert.Equal(attempt, (await ClaimOneAsync(worker)).Attempt);
            Clock.Advance(Lease);
            Assert.Equal(new SweepResult(1, 0, 0, 0), (await Store.SweepExpiredAsync()) with { LostWorkers = 0 });

            var backoff = Backoff * Math.Pow(2, attempt);
            Assert.Equal(Clock.GetUtcNow() + backoff, (await Store.ListShardsAsync(job))[0].NotBefore);
            Clock.Advance(backoff - TimeSpan.FromMilliseconds(1));
            Assert.Empty(await Store.ClaimShardsAsync(worker, HostedModels.Any, 1, Lease));
            Clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        await ClaimOneAsync(worker);
        Clock.Advance(Lease);
        Assert.Equal(new SweepResult(0, 1, 1, 0), (await Store.SweepExpiredAsync()) with { LostWorkers = 0 });

        var shard = (await Store.ListShardsAsync(job))[0];
        Assert.Equal(ShardState.Dead, shard.State);
        Assert.Equal([1, 2, 3], shard.Errors.Select(e => e.Attempt));
        Assert.All(shard.Errors, e => Assert.Equal("lease expired", e.Message));
        Assert.All(shard.Errors, e => Assert.Equal(worker, e.Worker));
        Clock.Advance(TimeSpan.FromHours(1));
        Assert.Empty(await Store.ClaimShardsAsync(worker, HostedModels.Any, 1, Lease));
        var info = (await Store.GetJobAsync(job))!;
        Assert.Equal(JobState.Failed, info.State);
        Assert.Equal("1 of 1 shards dead-lettered", info.Error);
    }

    [Fact]
    public async Task A_poison_shard_failing_every_attempt_is_dead_lettered_and_the_job_keeps_its_completed_shards()
    {
        var job = await Store.CreateJobAsync(Job(items: 2, maxAttempts: 2));
        var worker = await WorkerAsync();
        var good = await ClaimOneAsync(worker);
        Assert.True(await Store.CompleteShardAsync(good, Metrics(1, 3)));

        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var poison = await ClaimOneAsync(worker);
            Assert.True(await Store.FailShardAsync(poison, $"corrupt input {attempt}"));
            Clock.Advance(TimeSpan.FromMinutes(10));
        }

        var info = (await Store.GetJobAsync(job))!;
        Assert.Equal(JobState.Failed, info.State);
        Assert.Equal(new JobProgress(0, 0, 1, 1, 0), info.Progress);
        Assert.Equal("1 of 2 shards dead-lettered", info.Error);
        Assert.Equal(3, info.Metrics!["seconds"]!.GetValue<double>());
        Assert.Equal(["corrupt input 1", "corrupt input 2"], (await Store.ListShardsAsync(job))[1].Errors.Select(e => e.Message));
    }

    [Fact]
    public async Task Shards_of_a_worker_that_died_mid_shard_are_re_leased_and_every_shard_completes_once()
    {
        var job = await Store.CreateJobAsync(Job(items: 6));
        var dead = await WorkerAsync(name: "killed");
        var survivor = await WorkerAsync(name: "survivor");
        var orphaned = await Store.ClaimShardsAsync(dead, HostedModels.Any, 2, Lease);
        var completed = 0;
        foreach (var lease in await Store.ClaimShardsAsync(survivor, HostedModels.Any, 10, Lease))
        {
            completed += await Store.CompleteShardAsync(lease, Metrics(1, 1)) ? 1 : 0;
        }

        Clock.Advance(Lease);
        Assert.Equal(2, (await Store.SweepExpiredAsync()).Requeued);
        Clock.Advance(Backoff * 2);
        foreach (var lease in await Store.ClaimShardsAsync(survivor, HostedModels.Any, 10, Lease))
        {
            completed += await Store.CompleteShardAsync(lease, Metrics(1, 1)) ? 1 : 0;
        }

        Assert.Equal(6, completed);
        foreach (var lease in orphaned)
        {
            Assert.False(await Store.CompleteShardAsync(lease, Metrics(1, 1)));
        }

        var info = (await Store.GetJobAsync(job))!;
        Assert.Equal((JobState.Succeeded, 6.0), (info.State, info.Metrics!["images"]!.GetValue<double>()));
        Assert.Equal([0, 1, 2, 3, 4, 5], (await Store.GetShardMetricsAsync(job)).Select(m => m.Index));
    }

    [Fact]
    public async Task The_sweeper_leaves_live_leases_alone_and_marks_silent_workers_lost()
    {
        await Store.CreateJobAsync(Job(items: 1));
        var silent = await WorkerAsync(name: "silent");
        var alive = await WorkerAsync(name: "alive");
        var lease = await ClaimOneAsync(alive);

        for (var i = 0; i < 2; i++)
        {
            Clock.Advance(TimeSpan.FromSeconds(25));
            Assert.True(await Store.RenewLeaseAsync(lease, Lease));
            Assert.True(await Store.HeartbeatWorkerAsync(alive));
        }

        Clock.Advance(TimeSpan.FromSeconds(15));

        Assert.Equal(new SweepResult(0, 0, 0, 1), await Store.SweepExpiredAsync());
        var workers = await Store.ListWorkersAsync();
        Assert.Equal([("alive", WorkerState.Active), ("silent", WorkerState.Lost)], workers.Select(w => (w.Name, w.State)));
        Assert.Equal(silent, workers[1].Id);
        Assert.False(await Store.HeartbeatWorkerAsync(Guid.NewGuid()));
    }
}
