namespace Salient.Cluster.Tests.Grains;

/// <summary>
/// Tests that start silos on ports they pick as they go: run alone, after the parallel collections, so that
/// no other test's probed port block (the scripted clusters') is taken between its probe and its bind.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SiloTestGroup
{
    public const string Name = "Orleans silos";
}
