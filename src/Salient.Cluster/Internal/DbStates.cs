namespace Salient.Cluster.Internal;

/// <summary>The text each state has in the tables' <c>state</c> columns.</summary>
internal static class DbStates
{
    public static string Of(JobState state) => state switch
    {
        JobState.Queued => "queued",
        JobState.Running => "running",
        JobState.Succeeded => "succeeded",
        JobState.Failed => "failed",
        JobState.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };

    public static JobState Job(string state) => state switch
    {
        "queued" => JobState.Queued,
        "running" => JobState.Running,
        "succeeded" => JobState.Succeeded,
        "failed" => JobState.Failed,
        "cancelled" => JobState.Cancelled,
        _ => throw new InvalidDataException($"Unknown job state '{state}'."),
    };

    public static ShardState Shard(string state) => state switch
    {
        "queued" => ShardState.Queued,
        "leased" => ShardState.Leased,
        "done" => ShardState.Done,
        "dead" => ShardState.Dead,
        "cancelled" => ShardState.Cancelled,
        _ => throw new InvalidDataException($"Unknown shard state '{state}'."),
    };

    public static WorkerState Worker(string state) => state switch
    {
        "active" => WorkerState.Active,
        "lost" => WorkerState.Lost,
        _ => throw new InvalidDataException($"Unknown worker state '{state}'."),
    };
}
