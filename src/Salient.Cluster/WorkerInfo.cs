namespace Salient.Cluster;

/// <summary>A device a worker computes on.</summary>
/// <param name="Kind">e.g. <c>cpu</c> or <c>cuda</c>.</param>
/// <param name="Name">e.g. the GPU's product name or the CPU model.</param>
/// <param name="MemoryBytes">The device's memory, when known.</param>
public sealed record DeviceInfo(string Kind, string Name, long? MemoryBytes = null);

/// <summary>Whether a worker is heard from.</summary>
public enum WorkerState
{
    /// <summary>It heartbeats.</summary>
    Active,

    /// <summary>Its silo left the cluster's membership (stopped, or declared dead by its peers).</summary>
    Lost,
}

/// <summary>A worker as stored.</summary>
public sealed record WorkerInfo(
    Guid Id,
    string Name,
    IReadOnlyList<DeviceInfo> Devices,
    HostedModels Models,
    int Capacity,
    WorkerState State,
    DateTimeOffset RegisteredAt,
    DateTimeOffset HeartbeatAt);
