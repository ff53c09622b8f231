using Salient.Client;
using Salient.Cluster.Internal;
using Salient.Imaging;
using Salient.Methods.Metrics;
using Salient.Methods.Pipeline;
using Salient.Storage;

namespace Salient.Cluster;

/// <summary>
/// <c>eval</c>: the quality metrics of each method on each item (with its objects' masks where the manifest gives
/// them), as <c>salient eval</c> scores them; the shard's metric accumulator goes back with its report.
/// </summary>
public sealed class EvalJobKind : ModelJobKind
{
    /// <inheritdoc/>
    public override string Name => "eval";

    /// <inheritdoc/>
    protected override string? KindProblem(JobSubmission job) =>
        job.Metrics is { } metrics && metrics.Except(MetricOptions.Names).Any() ? $"metrics: valid metrics are {string.Join(", ", MetricOptions.Names)}." : null;

    /// <inheritdoc/>
    public override async Task<ShardReport> RunAsync(ShardRun shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        var (job, model) = (shard.Job, shard.RequiredModel);
        var spec = JobSpecs.PipelineOptionsOf(job);
        var pipeline = new EvalPipeline(model.Model, model.Loader.Card, spec.ExplainerOptions(), JobSpecs.MetricOptionsFor(job));
        var dataset = job.Inputs.Manifest is { } manifest ? await shard.Datasets.ReadManifestAsync(manifest, shard.Token).ConfigureAwait(false) : null;
        var preprocessor = new ImagePreprocessor(model.Loader.Card);
        var accumulator = new MetricAccumulator();
        // The next batch (masks and images) downloads and decodes while this one computes; each is this loop's to dispose.
        var batches = BatchPrefetch.LoadAsync(shard.Lease.Items.Chunk(shard.BatchSize), async (chunk, _) =>
        {
            var inputs = await Task.WhenAll(chunk.Select(name => InputAsync(shard, dataset?.GetValueOrDefault(name), name, preprocessor))).ConfigureAwait(false);
            return new EvalBatch(inputs, await shard.LoadInputsAsync(chunk).ConfigureAwait(false));
        }, BatchPrefetch.DefaultFor(model.Model.Device), shard.Token);
        await foreach (var (_, loaded) in batches.ConfigureAwait(false))
        {
            using var batch = loaded;
            var records = await shard.ComputeAsync(_ => pipeline.Evaluate(batch.Images, batch.Inputs, accumulator)).ConfigureAwait(false);
            await shard.EnsureLeaseAsync().ConfigureAwait(false);
            shard.Records.AddRange(records);
        }

        return await shard.FinishAsync(accumulator).ConfigureAwait(false);
    }

    /// <summary>The item with its objects' masks; a mask that cannot be read fails the item alone.</summary>
    private static async Task<EvalInput> InputAsync(ShardRun shard, DatasetItem? item, string name, ImagePreprocessor preprocessor)
    {
        if (item is null)
        {
            return new EvalInput(name, []);
        }

        try
        {
            return new EvalInput(name, await Task.WhenAll(item.Objects.Select(async o =>
            {
                using var mask = RgbImage.Decode(await shard.Blobs.ReadAllBytesAsync(o.Mask, shard.Token).ConfigureAwait(false), o.Mask);
                return new EvaluationObject(o.Class, preprocessor.Mask(mask));
            })).ConfigureAwait(false));
        }
        catch (Exception e) when (e is ImageDecodeException or BlobNotFoundException or ArgumentException)
        {
            // ArgumentException: a mask name no blob can have, from the manifest's line.
            return new EvalInput(name, [], $"Input '{name}': {e.Message}");
        }
    }
}
