using Orleans.Concurrency;

namespace Salient.Cluster.Contracts;

/// <summary>
/// One model on one worker silo and device, keyed <c>model|silo|device</c> (<see cref="ModelGrainKey"/>) and
/// placed only on that silo: queues assigned shards (bounded) and runs them outside its turn.
/// </summary>
public interface IModelGrain : IGrainWithStringKey
{
    /// <summary>
    /// Queues the shards (a job grain's assignments of one round); for each, false (not queued) when the queue is
    /// full of work that ranks before it or the silo is stopping.
    /// </summary>
    Task<bool[]> AssignAsync(IReadOnlyList<ShardWork> shards);

    /// <summary>Shards queued and running here.</summary>
    Task<int> GetLoadAsync();

    /// <summary>
    /// Stops taking shards, hands the queued ones back to their jobs at once, lets the running ones finish
    /// and hands back those still running after the hand-back delay; returns when none is left. A stopping
    /// silo calls it while it can still reach the job grains.
    /// </summary>
    [AlwaysInterleave]
    Task DrainAsync();
}
