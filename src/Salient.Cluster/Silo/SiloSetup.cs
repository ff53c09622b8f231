using System.Net;
using Azure.Data.Tables;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Runtime.Hosting;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Serialization;
using Orleans.Storage;
using Salient.Cluster.Contracts;
using Salient.Cluster.Grains;
using Salient.Cluster.Internal;
using Salient.Cluster.Placement;
using Salient.Cluster.Worker;
using Salient.Storage;

namespace Salient.Cluster.Silo;

/// <summary>Where a cluster keeps its membership, grain state and reminders.</summary>
public sealed class SiloStorage
{
    private SiloStorage(string? folder, string? connectionString) => (Folder, ConnectionString) = (folder, connectionString);

    /// <summary>The folder of the embedded single-process cluster (localhost clustering, state in files), or null.</summary>
    public string? Folder { get; }

    /// <summary>The Azure Storage connection string (Tables for membership and reminders, Blob for state), or null.</summary>
    public string? ConnectionString { get; }

    /// <summary>
    /// Reads <c>--storage</c>: an Azure Storage connection string (<c>UseDevelopmentStorage=true</c> for Azurite,
    /// or <c>DefaultEndpointsProtocol=...;AccountName=...</c>), else a folder for the embedded cluster.
    /// </summary>
    public static SiloStorage Parse(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        return value.Contains('=', StringComparison.Ordinal) && value.Contains(';', StringComparison.Ordinal) || value.StartsWith("UseDevelopmentStorage=", StringComparison.OrdinalIgnoreCase)
            ? new SiloStorage(null, value)
            : new SiloStorage(Path.GetFullPath(value), null);
    }
}

/// <summary>How a silo is reached: its cluster id, ports and advertised address.</summary>
public sealed class SiloEndpoints
{
    /// <summary>The Orleans cluster and service id: silos of one cluster share it.</summary>
    public string ClusterId { get; init; } = "salient";

    /// <summary>Silo-to-silo port.</summary>
    public int SiloPort { get; init; } = 11111;

    /// <summary>Client gateway port.</summary>
    public int GatewayPort { get; init; } = 30000;

    /// <summary>The address other silos reach this one at; loopback for local runs.</summary>
    public IPAddress AdvertisedAddress { get; init; } = IPAddress.Loopback;

    /// <summary>
    /// Without Azure Storage: the first silo's endpoint, so that several silos of one machine form one cluster
    /// (<c>salient bench cluster</c>); null for the embedded single process.
    /// </summary>
    public IPEndPoint? PrimarySilo { get; init; }
}

/// <summary>Configures a silo of the Salient cluster: its role's metadata, placement, grains' services and storage.</summary>
public static class SiloSetup
{
    /// <summary>The grain storage of job and catalog grains.</summary>
    public const string StateStorage = "salient";

    /// <summary>
    /// How often a silo writes its heartbeat ("I am alive") into the membership table. The worker list shows it, and
    /// the dashboard calls a worker stale after three missed beats: a killed process is seen within half a minute,
    /// whatever its peers' probes and votes take to declare it dead (longer on a loaded machine). One table write
    /// per silo per period (Orleans' default is 30 s).
    /// </summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(10);

    /// <summary>What Orleans' Kubernetes hosting reads of its pod.</summary>
    private static readonly string[] PodVariables = ["POD_NAME", "POD_NAMESPACE", "POD_IP"];

    /// <summary>
    /// Publishes the role and, for workers, the models, devices, name and capacity as silo metadata; adds the
    /// placement directors, the grains' options and, when none is registered, the shard executor that explains.
    /// </summary>
    public static ISiloBuilder AddSalientGrains(this ISiloBuilder silo, ClusterRole role, WorkerOptions worker, ClusterGrainOptions grains)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(grains);
        silo.UseSiloMetadata(new Dictionary<string, string>
        {
            [SiloMetadataKeys.Role] = role.ToString().ToLowerInvariant(),
            [SiloMetadataKeys.Models] = worker.Models.ToString(),
            [SiloMetadataKeys.Devices] = string.Join(',', worker.Devices),
            [SiloMetadataKeys.Capacity] = worker.Capacity.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [SiloMetadataKeys.Name] = worker.Name,
        });
        silo.AddPlacementDirector<ModelPlacement, ModelPlacementDirector>();
        silo.AddPlacementDirector<CoordinatorPlacement, CoordinatorPlacementDirector>();
        silo.Services.Configure<ClusterGrainOptions>(o =>
        {
            o.LeaseDuration = grains.LeaseDuration;
            o.RetryBackoff = grains.RetryBackoff;
            o.MaxRetryBackoff = grains.MaxRetryBackoff;
            o.CheckInterval = grains.CheckInterval;
            o.FlushInterval = grains.FlushInterval;
            o.CreditPerSlot = grains.CreditPerSlot;
            o.QueuePerSlot = grains.QueuePerSlot;
            o.HandBackAfter = grains.HandBackAfter;
            o.TimeProvider = grains.TimeProvider;
        });
        silo.Services.AddSingleton(new WorkerSlots(worker.Capacity));
        // A service of the container, which disposes it when the host goes, after the grains stopped: that frees the
        // loaded models' GPU streams.
        silo.Services.TryAddSingleton(sp => new ModelCache(sp.GetRequiredService<IBlobStore>(), worker.ModelCache));
        silo.Services.TryAddSingleton<IShardExecutor>(sp =>
        {
            var blobs = sp.GetRequiredService<IBlobStore>();
            return new ShardRunner(new GrainShardLeases(sp.GetRequiredService<IGrainFactory>()), blobs, sp.GetRequiredService<ModelCache>(),
                new JobDataset(blobs), worker, sp.GetRequiredService<ILoggerFactory>().CreateLogger<ShardRunner>());
        });
        // A stopping silo's model grains hand back their shards before it leaves: drained by a hosted service that
        // stops before the silo (registered after it), and again when deactivated.
        silo.Services.AddSingleton<LocalModelGrains>();
        silo.Services.AddSingleton<WorkerRoster>();
        silo.Services.AddHostedService<ModelGrainDrain>();
        silo.Services.Configure<GrainCollectionOptions>(o => o.DeactivationTimeout = grains.HandBackAfter + TimeSpan.FromSeconds(10));
        return silo;
    }

    /// <summary>
    /// Clustering, grain state and reminders: Azure Storage (Tables and Blob of one account) for a cluster of
    /// processes, or localhost clustering with state in files for the embedded single process.
    /// </summary>
    public static ISiloBuilder UseSalientStorage(this ISiloBuilder silo, SiloStorage storage, SiloEndpoints endpoints)
    {
        ArgumentNullException.ThrowIfNull(silo);
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(endpoints);
        silo.Configure<ClusterMembershipOptions>(o => o.IAmAliveTablePublishTimeout = HeartbeatInterval);
        if (storage.Folder is { } folder)
        {
            silo.UseLocalhostClustering(endpoints.SiloPort, endpoints.GatewayPort, endpoints.PrimarySilo, serviceId: endpoints.ClusterId, clusterId: endpoints.ClusterId);
            silo.Services.AddGrainStorage(StateStorage, (sp, _) => new FileGrainStorage(Path.Combine(folder, "grains"), sp.GetRequiredService<Serializer>()));
            silo.UseInMemoryReminderService();
            return silo;
        }

        var connection = storage.ConnectionString!;
        silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (endpoints.ClusterId, endpoints.ClusterId));
        silo.Configure<EndpointOptions>(o =>
        {
            o.AdvertisedIPAddress = endpoints.AdvertisedAddress;
            o.SiloPort = endpoints.SiloPort;
            o.GatewayPort = endpoints.GatewayPort;
        });
        silo.UseAzureStorageClustering(o => o.TableServiceClient = new TableServiceClient(connection));
        // Orleans' binary serializer, as for the state files: the shard table is large, and its types are ours.
        silo.AddAzureBlobGrainStorage(StateStorage, options => options.Configure<Serializer>((o, serializer) =>
        {
            o.BlobServiceClient = new BlobServiceClient(connection);
            o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
        }));
        silo.UseAzureTableReminderService(o => o.TableServiceClient = new TableServiceClient(connection));
        if (InKubernetesPod(Environment.GetEnvironmentVariable))
        {
            // Orleans' Kubernetes hosting: the silo is named after its pod, and a silo whose pod is gone is declared dead at
            // once instead of after missed probes. The chart sets its cluster id and address to the ones above.
            silo.UseKubernetesHosting();
        }

        return silo;
    }

    /// <summary>Whether this process runs in a Kubernetes pod that tells it its name, namespace and IP (as the chart does).</summary>
    public static bool InKubernetesPod(Func<string, string?> environment) =>
        PodVariables.All(v => !string.IsNullOrEmpty(environment(v)));

    /// <summary>Shards each model grain of this silo runs at once.</summary>
    internal sealed record WorkerSlots(int Capacity);
}
