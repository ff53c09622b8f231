namespace Salient.Cluster.Tests;

public sealed class LeaseTests(PostgresServer server) : StoreTests(server)
{
    [Fact]
    public async Task Renewing_extends_the_lease_and_an_expired_lease_cannot_be_renewed()
    {
        await Store.CreateJobAsync(Job(items: 1));
        var lease = await ClaimOneAsync(await WorkerAsync());

        Clock.Advance(TimeSpan.FromSeconds(20));
        Assert.True(await Store.RenewLeaseAsync(lease, Lease));
        Clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(0, (await Store.SweepExpiredAsync()).Requeued);
        Assert.True(await Store.RenewLeaseAsync(lease, Lease));

        Clock.Advance(Lease);
        Assert.False(await Store.RenewLeaseAsync(lease, Lease));
    }

    [Fact]
    public async Task A_holder_whose_lease_expired_and_was_re_leased_cannot_complete_or_fail_the_shard()
    {
        var job = await Store.CreateJobAsync(Job(items: 1));
        var stale = await ClaimOneAsync(await WorkerAsync(name: "stale"));
        Clock.Advance(Lease);
        Assert.Equal(1, (await Store.SweepExpiredAsync()).Requeued);
        Clock.Advance(Backoff * 2);
        var current = await ClaimOneAsync(await WorkerAsync(name: "current"));

        Assert.True(current.FencingToken > stale.FencingToken);
        Assert.Equal(2, current.Attempt);
        Assert.False(await Store.CompleteShardAsync(stale, Metrics(1, 9)));
        Assert.False(await Store.FailShardAsync(stale, "stale"));
        Assert.False(await Store.RenewLeaseAsync(stale, Lease));
        Assert.Empty(await Store.GetShardMetricsAsync(job));
        Assert.Equal(ShardState.Leased, (await Store.ListShardsAsync(job))[0].State);

        Assert.True(await Store.CompleteShardAsync(current, Metrics(1, 2)));
        var metrics = Assert.Single(await Store.GetShardMetricsAsync(job));
        Assert.Equal(2, metrics.Metrics["seconds"]!.GetValue<double>());
    }

    [Fact]
    public async Task An_expired_lease_cannot_complete_even_before_the_sweeper_runs()
    {
        var job = await Store.CreateJobAsync(Job(items: 1));
        var lease = await ClaimOneAsync(await WorkerAsync());
        Clock.Advance(Lease);

        Assert.False(await Store.CompleteShardAsync(lease, Metrics(1, 1)));
        Assert.Empty(await Store.GetShardMetricsAsync(job));
    }

    [Fact]
    public async Task Completing_again_with_the_same_lease_succeeds_and_records_the_metrics_once()
    {
        var job = await Store.CreateJobAsync(Job(items: 1));
        var lease = await ClaimOneAsync(await WorkerAsync());

        Assert.True(await Store.CompleteShardAsync(lease, Metrics(1, 1)));
        Assert.True(await Store.CompleteShardAsync(lease, Metrics(1, 5)));

        var metrics = Assert.Single(await Store.GetShardMetricsAsync(job));
        Assert.Equal(1, metrics.Metrics["seconds"]!.GetValue<double>());
    }

    [Fact]
    public async Task A_failed_shard_waits_out_its_backoff_then_is_claimable_again_with_its_error_kept()
    {
        var job = await Store.CreateJobAsync(Job(items: 1));
        var worker = await WorkerAsync();
        var lease = await ClaimOneAsync(worker);

        Assert.True(await Store.FailShardAsync(lease, "CUDA out of memory"));

        var shard = (await Store.ListShardsAsync(job))[0];
        Assert.Equal(ShardState.Queued, shard.State);
        Assert.Equal(Clock.GetUtcNow() + Backoff * 2, shard.NotBefore);
        var error = Assert.Single(shard.Errors);
        Assert.Equal((1, worker, "CUDA out of memory", Clock.GetUtcNow()), (error.Attempt, error.Worker!.Value, error.Message, error.At));
        Assert.Empty(await Store.ClaimShardsAsync(worker, HostedModels.Any, 1, Lease));
        Clock.Advance(Backoff * 2);
        Assert.Equal(2, (await ClaimOneAsync(worker)).Attempt);
    }

    [Fact]
    public async Task A_shard_handed_back_is_claimable_at_once_without_counting_the_attempt_and_its_old_lease_is_dead()
    {
        var job = await Store.CreateJobAsync(Job(items: 1));
        var stopping = await WorkerAsync(name: "stopping");
        var lease = await ClaimOneAsync(stopping);

        Assert.True(await Store.ReleaseShardAsync(lease));
        Assert.False(await Store.ReleaseShardAsync(lease));

        var shard = (await Store.ListShardsAsync(job))[0];
        Assert.Equal(ShardState.Queued, shard.State);
        Assert.Empty(shard.Errors);
        Assert.False(await Store.CompleteShardAsync(lease, Metrics(1, 1)));
        Assert.False(await Store.RenewLeaseAsync(lease, Lease));
        var next = await ClaimOneAsync(await WorkerAsync(name: "next"));
        Assert.Equal(1, next.Attempt);
        Assert.True(next.FencingToken > lease.FencingToken);
        Assert.True(await Store.CompleteShardAsync(next, Metrics(1, 1)));
    }

    [Fact]
    public async Task A_fenced_write_checks_the_lease_id_as_well_as_the_token()
    {
        await Store.CreateJobAsync(Job(items: 1));
        var lease = await ClaimOneAsync(await WorkerAsync());

        Assert.False(await Store.RenewLeaseAsync(lease with { LeaseId = Guid.NewGuid() }, Lease));
        Assert.False(await Store.RenewLeaseAsync(lease with { FencingToken = lease.FencingToken + 1 }, Lease));
        Assert.True(await Store.RenewLeaseAsync(lease, Lease));
    }
}
