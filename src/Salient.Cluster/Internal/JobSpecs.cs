using System.Globalization;
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
    /// The targets of every item (<c>top1</c>, <c>topN</c>, <c>class:I,...</c>), or null for
    /// <c>labels</c>, which come from each item's manifest line.
    /// </summary>
    public static TargetSelection? FixedTargets(string targets)
    {
        if (targets == "labels")
        {
            return null;
        }

        if (targets.StartsWith("top", StringComparison.Ordinal) && int.TryParse(targets.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out var k) && k > 0)
        {
            return TargetSelection.Top(k);
        }

        return TargetSelection.Parse(targets);
    }
}
