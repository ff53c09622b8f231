using Salient.Client;

namespace Salient.Cluster;

/// <summary>
/// A kind of job the cluster runs (<c>explain</c>, <c>eval</c>, <c>pwla</c>, or one of yours): what a submission of
/// it must hold, whether its shards need a model, and how a worker runs one shard. A kind is one subclass plus one
/// <see cref="JobKinds.Register"/> call; the coordinator's validation, the worker's dispatch and
/// <c>salient job submit --kind</c> find it there. The job grain needs nothing from it: it cuts any job's items into
/// shards, and merges any report's metric accumulators and fit totals.
/// </summary>
public abstract class JobKind
{
    /// <summary>The name a submission's <c>kind</c> field gives (lower case, e.g. <c>explain</c>).</summary>
    public abstract string Name { get; }

    /// <summary>Whether the job names a registered model, loaded by each worker that runs one of its shards.</summary>
    public virtual bool UsesModel => true;

    /// <summary>
    /// The first problem of a submission of this kind, naming its JSON field, or null. The coordinator answers it
    /// with 400; the shard size and attempt limits are checked for every kind.
    /// </summary>
    public abstract string? Validate(JobSubmission job);

    /// <summary>
    /// Runs the items of one leased shard, adding a record per item (and output) to <paramref name="shard"/>, and
    /// returns its report, usually <see cref="ShardRun.FinishAsync"/>'s. An item's own failure becomes its
    /// record's error; an exception fails the whole shard, which is then retried.
    /// </summary>
    public abstract Task<ShardReport> RunAsync(ShardRun shard);
}
