using System.Text.Json;
using System.Text.Json.Nodes;

namespace Salient.Cluster.Tests;

/// <summary>
/// Base of the store tests: a fresh, migrated database per test class, a manual clock, and
/// helpers to make jobs and workers.
/// </summary>
[Collection(SharedPostgres.Name)]
public abstract class StoreTests(PostgresServer server) : IAsyncLifetime
{
    protected static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);
    protected static readonly TimeSpan Backoff = TimeSpan.FromSeconds(1);

    protected PostgresServer Server { get; } = server;

    protected ManualClock Clock { get; } = new();

    protected ClusterStore Store { get; private set; } = null!;

    protected string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        ConnectionString = await Server.CreateDatabaseAsync();
        Store = NewStore();
        await Store.MigrateAsync();
    }

    public async Task DisposeAsync() => await Store.DisposeAsync();

    protected ClusterStore NewStore() => ClusterStore.Create(ConnectionString, new ClusterStoreOptions
    {
        TimeProvider = Clock,
        RetryBackoff = Backoff,
        WorkerTimeout = TimeSpan.FromMinutes(1),
    });

    protected static JobRequest Job(string model = "resnet50", int items = 4, int shardSize = 1, int priority = 0, int maxAttempts = 3, Guid? id = null) => new()
    {
        Id = id,
        Kind = "explain",
        Spec = JsonElement.Parse("""{"method": "gradcam"}"""),
        Model = new ModelRef(model, $"file:///models/{model}.onnx", new string('a', 64)),
        Items = [.. Enumerable.Range(0, items).Select(i => $"img/{i:D4}.png")],
        ShardSize = shardSize,
        Priority = priority,
        MaxAttempts = maxAttempts,
    };

    protected Task<Guid> WorkerAsync(HostedModels? models = null, string name = "worker") =>
        Store.RegisterWorkerAsync(new WorkerRegistration(name, [new DeviceInfo("cuda", "NVIDIA H100", 80L << 30)], models ?? HostedModels.Any, 4));

    protected async Task<ShardLease> ClaimOneAsync(Guid worker)
    {
        var leases = await Store.ClaimShardsAsync(worker, HostedModels.Any, 1, Lease);
        return Assert.Single(leases);
    }

    protected static JsonObject Metrics(double images, double seconds) => new() { ["images"] = images, ["seconds"] = seconds };
}
