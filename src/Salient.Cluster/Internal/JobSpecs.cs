using System.Text.Json;
using Salient.Client;
using Salient.Methods.Metrics;
using Salient.Methods.Pipeline;

namespace Salient.Cluster.Internal;

/// <summary>Reads a job's submission, as stored in its spec, into the pipeline's options; one reading for validation and work.</summary>
internal static class JobSpecs
{
    public static JobSubmission Read(JsonElement spec) =>
        spec.Deserialize<JobSubmission>(SalientJson.Options) ?? throw new InvalidDataException("The job's spec is JSON null.");

    /// <summary>
    /// The submission's pipeline options, read by the parser the CLI uses (problems name the JSON field);
    /// a deprecated form that is still accepted adds its note to <paramref name="warnings"/>.
    /// </summary>
    public static PipelineOptions PipelineOptionsOf(JobSubmission job, ICollection<string>? warnings = null) =>
        PipelineOptions.Parse(new PipelineText(job.Methods, job.Targets, job.Layers, job.Denoise, job.DenoiseQuantile, job.Parameters, job.Seed), field => field, warnings ?? []);

    /// <summary>The metrics of an eval job; its seed seeds ROAD's noise and the sanity check, as <c>salient eval --seed</c> does.</summary>
    public static MetricOptions MetricOptionsFor(JobSubmission job) =>
        job.Metrics.Count == 0 ? new MetricOptions { Seed = job.Seed } : new MetricOptions { Metrics = job.Metrics, Seed = job.Seed };
}
