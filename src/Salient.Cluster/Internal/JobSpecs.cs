using System.Text.Json;
using Salient.Client;
using Salient.Methods;
using Salient.Methods.Metrics;

namespace Salient.Cluster.Internal;

/// <summary>Reads a job's submission, as stored in its spec, into the methods' options; one reading for validation and work.</summary>
internal static class JobSpecs
{
    public static JobSubmission Read(JsonElement spec) =>
        spec.Deserialize<JobSubmission>(SalientJson.Options) ?? throw new InvalidDataException("The job's spec is JSON null.");

    public static ExplainOptions ExplainOptionsFor(JobSubmission job, string method) => new()
    {
        Method = method,
        Layers = job.Layers,
        Denoise = job.Denoise is null ? null : Enum.Parse<DenoiseMode>(job.Denoise, ignoreCase: true),
    };

    public static MetricOptions MetricOptionsFor(JobSubmission job) =>
        job.Metrics.Count == 0 ? new MetricOptions() : new MetricOptions { Metrics = job.Metrics };

    /// <summary>
    /// The targets of every item (<see cref="TargetSelection.Parse"/>'s syntax), or null for
    /// <c>labels</c>, which come from each item's manifest line.
    /// </summary>
    public static TargetSelection? FixedTargets(string targets) => targets == "labels" ? null : TargetSelection.Parse(targets);
}
