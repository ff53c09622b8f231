namespace Salient.Cluster.Tests;

public sealed class JobTests(PostgresServer server) : StoreTests(server)
{
    [Fact]
    public async Task A_job_succeeds_when_its_last_shard_completes_with_the_shard_metrics_summed()
    {
        var job = await Store.CreateJobAsync(Job(items: 5, shardSize: 2));
        var worker = await WorkerAsync();
        var leases = await Store.ClaimShardsAsync(worker, HostedModels.Any, 3, Lease);

        Assert.True(await Store.CompleteShardAsync(leases[2], Metrics(1, 0.5)));
        Assert.True(await Store.CompleteShardAsync(leases[0], Metrics(2, 1.25)));
        var running = (await Store.GetJobAsync(job))!;
        Assert.Equal((JobState.Running, new JobProgress(0, 1, 2, 0, 0), null), (running.State, running.Progress, running.Metrics));

        Clock.Advance(TimeSpan.FromSeconds(3));
        Assert.True(await Store.CompleteShardAsync(leases[1], Metrics(2, 1)));

        var done = (await Store.GetJobAsync(job))!;
        Assert.Equal(JobState.Succeeded, done.State);
        Assert.True(done.IsFinished);
        Assert.Null(done.Error);
        Assert.Equal(Clock.GetUtcNow(), done.FinishedAt);
        Assert.Equal("""{"images":5,"seconds":2.75}""", done.Metrics!.ToJsonString());
        Assert.Equal([0, 1, 2], (await Store.GetShardMetricsAsync(job)).Select(m => m.Index));
    }

    [Fact]
    public async Task Concurrent_completions_of_a_job_s_last_shards_finish_it_exactly_once()
    {
        var job = await Store.CreateJobAsync(Job(items: 16));
        var worker = await WorkerAsync();
        var leases = await Store.ClaimShardsAsync(worker, HostedModels.Any, 16, Lease);

        var completed = await Task.WhenAll(leases.Select(l => Task.Run(() => Store.CompleteShardAsync(l, Metrics(1, 1)))));

        Assert.All(completed, Assert.True);
        var info = (await Store.GetJobAsync(job))!;
        Assert.Equal(JobState.Succeeded, info.State);
        Assert.Equal(16, info.Metrics!["images"]!.GetValue<double>());
    }

    [Fact]
    public async Task Cancelling_stops_queued_and_leased_shards_and_a_finished_job_stays_as_it_is()
    {
        var job = await Store.CreateJobAsync(Job(items: 3));
        var worker = await WorkerAsync();
        var lease = await ClaimOneAsync(worker);

        Assert.True(await Store.CancelJobAsync(job));

        var info = (await Store.GetJobAsync(job))!;
        Assert.Equal((JobState.Cancelled, new JobProgress(0, 0, 0, 0, 3)), (info.State, info.Progress));
        Assert.False(await Store.RenewLeaseAsync(lease, Lease));
        Assert.False(await Store.CompleteShardAsync(lease, Metrics(1, 1)));
        Assert.Empty(await Store.ClaimShardsAsync(worker, HostedModels.Any, 10, Lease));
        Assert.False(await Store.CancelJobAsync(job));
        Assert.False(await Store.CancelJobAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task Creating_a_job_twice_with_one_id_creates_it_once()
    {
        var id = Guid.NewGuid();

        Assert.Equal(id, await Store.CreateJobAsync(Job(items: 3, id: id)));
        Assert.Equal(id, await Store.CreateJobAsync(Job(items: 3, id: id)));

        Assert.Equal(3, (await Store.ListShardsAsync(id)).Count);
    }

    [Fact]
    public async Task Jobs_are_listed_newest_first_and_filtered_by_state()
    {
        var first = await Store.CreateJobAsync(Job());
        Clock.Advance(TimeSpan.FromSeconds(1));
        var second = await Store.CreateJobAsync(Job());
        Assert.True(await Store.CancelJobAsync(first));

        var all = await Store.ListJobsAsync();
        var queued = await Store.ListJobsAsync(JobState.Queued);

        Assert.Equal([second, first], all.Select(j => j.Id).Where(id => id == first || id == second));
        Assert.DoesNotContain(queued, j => j.Id == first);
        Assert.Contains(queued, j => j.Id == second);
        Assert.Null(await Store.GetJobAsync(Guid.NewGuid()));
    }

    [Fact]
    public async Task A_job_without_items_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Store.CreateJobAsync(Job(items: 0)));
    }
}
