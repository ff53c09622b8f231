namespace Salient.Cluster.Tests.Runtime;

/// <summary>
/// The cluster of the runtime tests (<see cref="ScriptedCluster"/>): Azurite, a coordinator and three
/// worker processes — two pinned to model <c>resnet</c>, one to <c>resnet-b</c> — and the cluster
/// store for looking at shards directly.
/// </summary>
public sealed class LiveCluster() : ScriptedCluster(workers: 3, blob: "azurite", models: "resnet;resnet;resnet-b")
{
    public ClusterStore Store { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Store = ClusterStore.Create(Database);
        await UploadModelAsync("resnet");
        await UploadModelAsync("resnet-b");
    }

    public override async Task DisposeAsync()
    {
        await Store.DisposeAsync();
        await base.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class LiveClusterGroup : ICollectionFixture<LiveCluster>
{
    public const string Name = "Live cluster";
}
