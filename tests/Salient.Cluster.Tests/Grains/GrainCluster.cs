using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.Runtime.Hosting;
using Orleans.Serialization;
using Orleans.TestingHost;
using Salient.Cluster.Contracts;
using Salient.Cluster.Grains;
using Salient.Cluster.Silo;
using Salient.Cluster.Worker;
using Salient.Storage;

namespace Salient.Cluster.Tests.Grains;

/// <summary>
/// A TestCluster of Salient silos, one role per silo (<c>Primary</c>, <c>Secondary_1</c>, ...: <c>coordinator</c>,
/// <c>all:MODELS</c> or <c>worker:MODELS</c>), sharing one folder for grain state and the blob store, running
/// shards with <see cref="ScriptedExecutor"/>, or with the <see cref="ShardRunner"/> of <c>salient serve</c> (real models).
/// </summary>
internal sealed class GrainCluster : IAsyncDisposable
{
    private GrainCluster(TestCluster cluster, string folder) => (Cluster, Folder) = (cluster, folder);

    public TestCluster Cluster { get; }

    public string Folder { get; }

    public IGrainFactory Grains => Cluster.GrainFactory;

    public IBlobStore Blobs => BlobStore.Open(Path.Combine(Folder, "blobs"));

    /// <param name="roles">The role of each silo in start order; later entries are for silos started with <see cref="StartSiloAsync"/>.</param>
    /// <param name="initial">How many of them start now.</param>
    /// <param name="realRunner">Run shards with the real runner instead of <see cref="ScriptedExecutor"/>.</param>
    public static async Task<GrainCluster> StartAsync(string[] roles, int? initial = null, int shardDelayMs = 100, bool realRunner = false)
    {
        var folder = Directory.CreateTempSubdirectory("salient-grains-").FullName;
        var builder = new TestClusterBuilder((short)(initial ?? roles.Length));
        builder.Properties["Salient:Roles"] = string.Join(';', roles.Select((r, i) => $"{(i == 0 ? "Primary" : $"Secondary_{i}")}={r}"));
        builder.Properties["Salient:Folder"] = folder;
        builder.Properties["Salient:ShardDelayMs"] = shardDelayMs.ToString(System.Globalization.CultureInfo.InvariantCulture);
        builder.Properties["Salient:RealRunner"] = realRunner.ToString();
        builder.AddSiloBuilderConfigurator<Configurator>();
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return new GrainCluster(cluster, folder);
    }

    public Task<SiloHandle> StartSiloAsync() => Cluster.StartAdditionalSiloAsync();

    public IJobGrain Job(Guid id) => Grains.GetGrain<IJobGrain>(id);

    public async Task<JobSnapshot> SubmitAsync(string model, int items, int shardSize, int maxAttempts = 3, Func<int, string>? name = null, int priority = 0)
    {
        var id = Guid.CreateVersion7();
        var plan = new JobPlan(id, "explain", "{}", new ModelAddress(model, "", ""), [.. Enumerable.Range(0, items).Select(name ?? (i => $"img{i:D3}.png"))],
            shardSize, priority, maxAttempts);
        return await Job(id).SubmitAsync(plan);
    }

    public async Task<JobSnapshot> WaitFinishedAsync(Guid id, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            JobSnapshot job;
            try
            {
                job = (await Job(id).GetAsync())!;
            }
            catch (Exception e) when (e is TimeoutException or SiloUnavailableException && DateTime.UtcNow < deadline)
            {
                // Right after a silo is killed, a call can still be routed to its activation and wait out
                // the response timeout before the membership declares the silo dead: ask again.
                continue;
            }

            if (job.FinishedAt is not null && await Blobs.ExistsAsync(BlobLayout.Manifest(id)))
            {
                return job;
            }

            Assert.True(DateTime.UtcNow < deadline, $"job {id} did not finish: {job}");
            await Task.Delay(100);
        }
    }

    /// <summary>The manifest's records.</summary>
    public async Task<List<JsonElement>> ManifestAsync(Guid id)
    {
        var text = System.Text.Encoding.UTF8.GetString(await Blobs.ReadAllBytesAsync(BlobLayout.Manifest(id)));
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        Directory.Delete(Folder, recursive: true);
    }

    private sealed class Configurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var config = siloBuilder.Configuration;
            var name = config["Orleans:Name"]!;
            var role = config["Salient:Roles"]!.Split(';').Select(r => r.Split('=')).First(r => r[0] == name)[1].Split(':');
            var folder = config["Salient:Folder"]!;
            var delay = TimeSpan.FromMilliseconds(int.Parse(config["Salient:ShardDelayMs"]!, System.Globalization.CultureInfo.InvariantCulture));
            var blobs = BlobStore.Open(Path.Combine(folder, "blobs"));
            siloBuilder.Services.AddSingleton(blobs);
            if (!bool.Parse(config["Salient:RealRunner"]!))
            {
                siloBuilder.Services.AddSingleton<IShardExecutor>(sp => new ScriptedExecutor(
                    new GrainShardLeases(sp.GetRequiredService<IGrainFactory>()), blobs, sp.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString(), delay));
            }

            siloBuilder.Services.AddGrainStorage(SiloSetup.StateStorage, (sp, _) => new FileGrainStorage(Path.Combine(folder, "grains"), sp.GetRequiredService<Serializer>()));
            siloBuilder.UseInMemoryReminderService();
            siloBuilder.AddSalientGrains(
                Enum.Parse<ClusterRole>(role[0], ignoreCase: true),
                new WorkerOptions
                {
                    Name = name, Models = HostedModels.Parse(role.Length > 1 ? role[1] : "none-here"), Capacity = 2, BatchSize = 2,
                    LeaseDuration = TimeSpan.FromSeconds(2), RenewInterval = TimeSpan.FromMilliseconds(500), ModelCache = Path.Combine(folder, "models", name),
                },
                new ClusterGrainOptions
                {
                    LeaseDuration = TimeSpan.FromSeconds(2),
                    RetryBackoff = TimeSpan.FromMilliseconds(100),
                    MaxRetryBackoff = TimeSpan.FromMilliseconds(400),
                    CheckInterval = TimeSpan.FromMilliseconds(200),
                    FlushInterval = TimeSpan.FromMilliseconds(100),
                    HandBackAfter = TimeSpan.FromSeconds(2),
                });
        }
    }
}
