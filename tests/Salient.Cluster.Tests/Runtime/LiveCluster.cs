using Azure.Data.Tables;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Salient.Cluster.Silo;

namespace Salient.Cluster.Tests.Runtime;

/// <summary>
/// The cluster of the runtime tests (<see cref="ScriptedCluster"/>): Azurite, a coordinator silo and three
/// worker silos — two pinned to model <c>resnet</c>, one to <c>resnet-b</c> — and an Orleans client of the
/// cluster for looking at the job grains directly and for submitting jobs the API would refuse.
/// </summary>
public sealed class LiveCluster() : ScriptedCluster(workers: 3, blob: "azurite", models: "resnet;resnet;resnet-b")
{
    private IHost? _client;

    /// <summary>The cluster's grains.</summary>
    public IClusterClient Grains => _client!.Services.GetRequiredService<IClusterClient>();

    /// <summary>The API's view of the cluster, over <see cref="Grains"/>, without the API's checks of a submission.</summary>
    public IClusterJobs Jobs => new GrainClusterJobs(Grains);

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _client = new HostBuilder().UseOrleansClient(client => client
            .UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(Storage))
            .Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = ("salient", "salient"))).Build();
        await _client.StartAsync();
        await UploadModelAsync("resnet");
        await UploadModelAsync("resnet-b");
    }

    public override async Task DisposeAsync()
    {
        if (_client is not null)
        {
            await _client.StopAsync();
            _client.Dispose();
        }

        await base.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class LiveClusterGroup : ICollectionFixture<LiveCluster>
{
    public const string Name = "Live cluster";
}
