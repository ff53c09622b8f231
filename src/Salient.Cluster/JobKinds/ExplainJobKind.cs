using Salient.Cluster.Internal;
using Salient.Methods;
using Salient.Methods.Pipeline;

namespace Salient.Cluster;

/// <summary><c>explain</c>: maps and the rendered outputs asked for, per item, method and target, as <c>salient explain</c> writes them.</summary>
public sealed class ExplainJobKind : ModelJobKind
{
    /// <summary>Outputs written at once per batch: blob stores take concurrent writes well.</summary>
    private const int WriteParallelism = 8;

    /// <inheritdoc/>
    public override string Name => "explain";

    /// <inheritdoc/>
    public override async Task<ShardReport> RunAsync(ShardRun shard)
    {
        ArgumentNullException.ThrowIfNull(shard);
        var (job, model) = (shard.Job, shard.RequiredModel);
        var spec = JobSpecs.PipelineOptionsOf(job);
        var pipeline = new ExplainPipeline(model.Model, model.Loader.Card, spec.ExplainerOptions(), RenderOptions.Create(job.Outputs));
        var fixedTargets = spec.FixedTargets;
        var labels = fixedTargets is null ? await shard.Datasets.ReadManifestAsync(job.Inputs.Manifest!, shard.Token).ConfigureAwait(false) : null;
        // The next batch downloads and decodes while this one computes; each batch is this loop's to dispose.
        var batches = BatchPrefetch.LoadAsync(shard.Lease.Items.Chunk(shard.BatchSize), (chunk, _) => shard.LoadInputsAsync(chunk),
            BatchPrefetch.DefaultFor(model.Model.Device), shard.Token);
        await foreach (var (chunk, loaded) in batches.ConfigureAwait(false))
        {
            using var batch = loaded;
            TargetSelection?[] targets = [.. chunk.Select(item => fixedTargets ?? (labels!.TryGetValue(item, out var d) && d.Labels.Count > 0 ? TargetSelection.Classes([.. d.Labels]) : null))];
            var explained = await shard.ComputeAsync(_ => pipeline.Explain(batch, chunk, targets)).ConfigureAwait(false);
            await shard.EnsureLeaseAsync().ConfigureAwait(false);
            await Parallel.ForEachAsync(explained.Files, new ParallelOptions { MaxDegreeOfParallelism = WriteParallelism, CancellationToken = shard.Token },
                async (file, _) => await shard.PutOutputAsync(file.Path, file.Content).ConfigureAwait(false)).ConfigureAwait(false);
            shard.Records.AddRange(explained.Records);
        }

        return await shard.FinishAsync().ConfigureAwait(false);
    }
}
