namespace Salient.Cluster.Tests;

public sealed class RestartTests(PostgresServer server) : StoreTests(server)
{
    [Fact]
    public async Task After_a_PostgreSQL_restart_the_store_and_the_listener_reconnect_and_carry_on()
    {
        var job = await Store.CreateJobAsync(Job(items: 2));
        var worker = await WorkerAsync();
        var lease = await ClaimOneAsync(worker);
        await using var listener = await Store.ListenAsync();

        await Server.RestartAsync();

        Assert.True(await Store.RenewLeaseAsync(lease, Lease));
        Assert.True(await Store.CompleteShardAsync(lease, Metrics(1, 1)));
        // The listener's reconnection wakes the waiter (notifications may have been missed)...
        Assert.True(await listener.WaitForWorkAsync(TimeSpan.FromSeconds(30)));
        // ...and it listens again afterwards.
        var waiting = listener.WaitForWorkAsync(TimeSpan.FromSeconds(30));
        await Store.CreateJobAsync(Job());
        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(await Store.CompleteShardAsync(await ClaimOneAsync(worker), Metrics(1, 1)));
        Assert.Equal(JobState.Succeeded, (await Store.GetJobAsync(job))!.State);
    }
}
