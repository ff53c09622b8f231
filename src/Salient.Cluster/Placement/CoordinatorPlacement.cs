using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;
using Salient.Cluster.Contracts;

namespace Salient.Cluster.Placement;

/// <summary>Places job and catalog grains on coordinator silos (role <c>coordinator</c> or <c>all</c>).</summary>
[GenerateSerializer, Immutable]
public sealed class CoordinatorPlacement : PlacementStrategy
{
    internal static readonly CoordinatorPlacement Instance = new();
}

/// <summary>Marks a grain class for <see cref="CoordinatorPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class CoordinatorPlacementAttribute() : PlacementAttribute(CoordinatorPlacement.Instance);

/// <summary>
/// The director of <see cref="CoordinatorPlacement"/>: the local silo when it is a coordinator (the API that
/// creates the job talks to it without a hop), else a random coordinator silo.
/// </summary>
internal sealed class CoordinatorPlacementDirector(ISiloMetadataCache metadata) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var coordinators = context.GetCompatibleSilos(target)
            .Where(s => SiloMetadataKeys.IsCoordinator(metadata.GetSiloMetadata(s).Metadata.GetValueOrDefault(SiloMetadataKeys.Role)))
            .ToArray();
        if (coordinators.Length == 0)
        {
            throw new OrleansException($"No coordinator silo is in the cluster to host {target.GrainIdentity}.");
        }

        return Task.FromResult(coordinators.Contains(context.LocalSilo) ? context.LocalSilo : coordinators[Random.Shared.Next(coordinators.Length)]);
    }
}
