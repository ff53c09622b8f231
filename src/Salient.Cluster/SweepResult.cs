namespace Salient.Cluster;

/// <summary>What one sweep of expired leases did.</summary>
/// <param name="Requeued">Shards put back in the queue, after their backoff.</param>
/// <param name="DeadLettered">Shards whose attempts were spent.</param>
/// <param name="FinishedJobs">Jobs that finished because of the dead-lettered shards.</param>
/// <param name="LostWorkers">Workers newly marked lost.</param>
public sealed record SweepResult(int Requeued, int DeadLettered, int FinishedJobs, int LostWorkers);
