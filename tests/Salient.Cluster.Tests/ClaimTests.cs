using System.Collections.Concurrent;

namespace Salient.Cluster.Tests;

public sealed class ClaimTests(PostgresServer server) : StoreTests(server)
{
    [Fact]
    public async Task A_pinned_worker_claims_only_its_models_and_an_any_worker_claims_the_rest()
    {
        var resnetJob = await Store.CreateJobAsync(Job("resnet50", items: 3));
        var vggJob = await Store.CreateJobAsync(Job("vgg16", items: 2));
        var pinned = await WorkerAsync(HostedModels.Parse("resnet50"));
        var any = await WorkerAsync(HostedModels.Parse("any"));

        // Asking for any model does not widen what the worker registered.
        var pinnedLeases = await Store.ClaimShardsAsync(pinned, HostedModels.Any, 10, Lease);
        var anyLeases = await Store.ClaimShardsAsync(any, HostedModels.Any, 10, Lease);

        Assert.Equal(3, pinnedLeases.Count);
        Assert.All(pinnedLeases, l => Assert.Equal(resnetJob, l.JobId));
        Assert.All(pinnedLeases, l => Assert.Equal("resnet50", l.Model.Key));
        Assert.Equal(2, anyLeases.Count);
        Assert.All(anyLeases, l => Assert.Equal(vggJob, l.JobId));
    }

    [Fact]
    public async Task A_claim_can_narrow_to_the_models_already_loaded()
    {
        await Store.CreateJobAsync(Job("resnet50", items: 2));
        var vggJob = await Store.CreateJobAsync(Job("vgg16", items: 2));
        var worker = await WorkerAsync();

        var leases = await Store.ClaimShardsAsync(worker, HostedModels.Only(["vgg16"]), 10, Lease);

        Assert.Equal(2, leases.Count);
        Assert.All(leases, l => Assert.Equal(vggJob, l.JobId));
    }

    [Fact]
    public async Task Claims_take_lower_priority_values_first_then_older_shards_and_start_the_job()
    {
        var later = await Store.CreateJobAsync(Job(items: 2, priority: 5));
        var urgent = await Store.CreateJobAsync(Job(items: 2, priority: -1));
        var worker = await WorkerAsync();

        var leases = await Store.ClaimShardsAsync(worker, HostedModels.Any, 3, Lease);

        Assert.Equal([(urgent, 0), (urgent, 1), (later, 0)], leases.Select(l => (l.JobId, l.Index)));
        Assert.All(leases, l => Assert.Equal(1, l.Attempt));
        Assert.Equal(JobState.Running, (await Store.GetJobAsync(urgent))!.State);
        Assert.Equal(new JobProgress(1, 1, 0, 0, 0), (await Store.GetJobAsync(later))!.Progress);
    }

    [Fact]
    public async Task A_lease_carries_the_job_and_its_items()
    {
        var job = await Store.CreateJobAsync(Job(items: 5, shardSize: 2));
        var worker = await WorkerAsync();

        var leases = await Store.ClaimShardsAsync(worker, HostedModels.Any, 10, Lease);

        Assert.Equal([0, 2, 4], leases.Select(l => l.FirstItem));
        Assert.Equal(["img/0002.png", "img/0003.png"], leases[1].Items);
        Assert.Equal(["img/0004.png"], leases[2].Items);
        Assert.Equal("explain", leases[0].JobKind);
        Assert.Equal("gradcam", leases[0].Spec.GetProperty("method").GetString());
        Assert.Equal(Clock.GetUtcNow() + Lease, leases[0].ExpiresAt);
        Assert.Equal(3, (await Store.GetJobAsync(job))!.TotalShards);
    }

    [Fact]
    public async Task An_unregistered_worker_claims_nothing()
    {
        await Store.CreateJobAsync(Job());

        Assert.Empty(await Store.ClaimShardsAsync(Guid.NewGuid(), HostedModels.Any, 10, Lease));
    }

    [Fact]
    public async Task Concurrent_claimers_never_get_the_same_shard()
    {
        const int shards = 300;
        await Store.CreateJobAsync(Job(items: shards));
        var workers = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => WorkerAsync(name: $"w{i}")));
        var claimed = new ConcurrentBag<long>();

        await Task.WhenAll(workers.Select(worker => Task.Run(async () =>
        {
            while (true)
            {
                var leases = await Store.ClaimShardsAsync(worker, HostedModels.Any, 3, Lease);
                if (leases.Count == 0)
                {
                    return;
                }

                foreach (var lease in leases)
                {
                    claimed.Add(lease.ShardId);
                }
            }
        })));

        Assert.Equal(shards, claimed.Count);
        Assert.Equal(shards, claimed.Distinct().Count());
    }
}
