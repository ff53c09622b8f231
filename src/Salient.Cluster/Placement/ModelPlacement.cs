using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;
using Salient.Cluster.Contracts;

namespace Salient.Cluster.Placement;

/// <summary>Places a model grain on the silo its key names, and only if that silo's metadata lists the model and device.</summary>
[GenerateSerializer, Immutable]
public sealed class ModelPlacement : PlacementStrategy
{
    internal static readonly ModelPlacement Instance = new();
}

/// <summary>Marks a grain class keyed by <see cref="ModelGrainKey"/> for <see cref="ModelPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ModelPlacementAttribute() : PlacementAttribute(ModelPlacement.Instance);

/// <summary>
/// The director of <see cref="ModelPlacement"/>: the silo in the key, when it is in the cluster and publishes
/// the model (or <c>any</c>) and the device; otherwise the activation fails, so a model grain never runs elsewhere.
/// </summary>
internal sealed class ModelPlacementDirector(ISiloMetadataCache metadata) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = ModelGrainKey.Parse(target.GrainIdentity.Key.ToString()!);
        var silo = SiloAddress.FromParsableString(key.Silo);
        if (!context.GetCompatibleSilos(target).Contains(silo))
        {
            throw new OrleansException($"Model grain {key}: silo {silo} is not an active member of the cluster.");
        }

        var data = metadata.GetSiloMetadata(silo).Metadata;
        var devices = (data.GetValueOrDefault(SiloMetadataKeys.Devices) ?? "").Split(',', StringSplitOptions.TrimEntries);
        if (!SiloMetadataKeys.IsWorker(data.GetValueOrDefault(SiloMetadataKeys.Role))
            || (key.Model != ModelRef.None.Key && !SiloMetadataKeys.Hosts(data.GetValueOrDefault(SiloMetadataKeys.Models), key.Model))
            || !devices.Contains(key.Device, StringComparer.Ordinal))
        {
            throw new OrleansException($"Model grain {key}: silo {silo} does not host model '{key.Model}' on {key.Device}.");
        }

        return Task.FromResult(silo);
    }
}
