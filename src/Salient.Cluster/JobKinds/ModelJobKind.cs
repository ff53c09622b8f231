using Salient.Client;
using Salient.Cluster.Internal;
using Salient.Methods.Pipeline;

namespace Salient.Cluster;

/// <summary>
/// The checks every job over a model's images shares (explain, eval): a model key, exactly one input source, item
/// names the blob store accepts, targets that the inputs can give, methods and options the pipeline parser accepts.
/// </summary>
public abstract class ModelJobKind : JobKind
{
    /// <inheritdoc/>
    public override string? Validate(JobSubmission job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var inputs = new object?[] { job.Inputs?.Prefix, job.Inputs?.Manifest, job.Inputs?.Items }.Count(i => i is not null);
        return job switch
        {
            { Model: null or "" } => "model: a model key is required.",
            _ when inputs != 1 => "inputs: give exactly one of prefix, manifest or items.",
            { Inputs.Items: { } list } when SubmissionChecks.ItemsProblem(list, isBlob: _ => true) is { } problem => problem,
            { Targets: PipelineOptions.LabelTargets, Inputs.Manifest: null } => "targets: 'labels' needs inputs.manifest.",
            _ => KindProblem(job) ?? SubmissionChecks.PipelineProblem(job) ?? SubmissionChecks.OutputsProblem(job.Outputs),
        };
    }

    /// <summary>The problem of this kind's own fields, checked after the shared ones; null by default.</summary>
    protected virtual string? KindProblem(JobSubmission job) => null;
}
