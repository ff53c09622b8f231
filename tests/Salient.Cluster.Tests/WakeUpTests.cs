namespace Salient.Cluster.Tests;

public sealed class WakeUpTests(PostgresServer server) : StoreTests(server)
{
    private static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_new_job_wakes_an_idle_listener()
    {
        await using var listener = await Store.ListenAsync();
        var waiting = listener.WaitForWorkAsync(LongPoll);

        await Store.CreateJobAsync(Job());

        Assert.True(await waiting.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_notification_while_the_worker_is_busy_wakes_its_next_wait()
    {
        await using var listener = await Store.ListenAsync();

        await Store.CreateJobAsync(Job());

        Assert.True(await listener.WaitForWorkAsync(LongPoll).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Without_new_shards_the_wait_ends_at_the_poll_interval()
    {
        await using var listener = await Store.ListenAsync();

        Assert.False(await listener.WaitForWorkAsync(TimeSpan.FromMilliseconds(100)));
    }
}
