namespace Salient.Cluster.Contracts;

/// <summary>The silo metadata every <c>salient serve</c> silo publishes, read by placement and the worker list.</summary>
public static class SiloMetadataKeys
{
    /// <summary><c>coordinator</c>, <c>worker</c> or <c>all</c>.</summary>
    public const string Role = "salient.role";

    /// <summary>The hosted model keys, comma-separated, or <c>any</c>.</summary>
    public const string Models = "salient.models";

    /// <summary>The devices, comma-separated (e.g. <c>cpu</c>, <c>cuda:0</c>).</summary>
    public const string Devices = "salient.devices";

    /// <summary>Shards each model grain of the silo runs at once.</summary>
    public const string Capacity = "salient.capacity";

    /// <summary>The worker's readable name.</summary>
    public const string Name = "salient.name";

    /// <summary>Whether a silo with this role hosts job grains.</summary>
    public static bool IsCoordinator(string? role) => role is "coordinator" or "all";

    /// <summary>Whether a silo with this role hosts model grains.</summary>
    public static bool IsWorker(string? role) => role is "worker" or "all";

    /// <summary>Whether a silo's <see cref="Models"/> value lists <paramref name="model"/>.</summary>
    public static bool Hosts(string? models, string model) =>
        models is not null && models.Split(',', StringSplitOptions.TrimEntries).Any(m => m == "any" || m == model);
}
