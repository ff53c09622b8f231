using Microsoft.Extensions.Logging;
using Salient.Client;
using Salient.Cluster.Worker;
using Salient.Engine.Devices;
using Salient.Imaging;
using Salient.Methods;
using Salient.Methods.Metrics;
using Salient.Methods.Pipeline;
using Salient.Storage;

namespace Salient.Cluster.Internal;

/// <summary>
/// Runs one leased shard: keeps the lease renewed, explains, evaluates or fits (pwla) its items batch by batch,
/// streams every output to the blob store, writes the shard's records under its fencing token, and
/// completes or fails the shard. A lost lease stops the shard at once and writes nothing more; a
/// hand-back (the worker is stopping) stops it after the current batch and gives the lease back.
/// </summary>
public sealed partial class ShardRunner(IShardLeases store, IBlobStore blobs, ModelCache models, JobDataset datasets, WorkerOptions options, ILogger logger)
    : IShardExecutor
{
    private const int WriteParallelism = 8;

    public async Task RunAsync(ShardLease lease, CancellationToken handBack = default)
    {
        using var lost = new CancellationTokenSource();
        using var done = new CancellationTokenSource();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(lost.Token, handBack);
        var keeper = KeepLeaseAsync(lease, lost, done.Token);
        try
        {
            var job = JobSpecs.Read(lease.Spec);
            // pwla fits need no model (their shards carry ModelRef.None).
            var model = lease.JobKind == "pwla" ? null : await models.GetAsync(lease.Model, Device.Parse(lease.Device), stop.Token).ConfigureAwait(false);
            var shard = new Shard(lease, job, model, lost, stop.Token);
            var report = lease.JobKind switch
            {
                "pwla" => await FitAsync(shard).ConfigureAwait(false),
                "explain" => await ExplainAsync(shard).ConfigureAwait(false),
                "eval" => await EvaluateAsync(shard).ConfigureAwait(false),
                _ => throw new InvalidDataException($"Unknown job kind '{lease.JobKind}'."),
            };
            if (await store.CompleteShardAsync(lease, report.ToJson(), CancellationToken.None).ConfigureAwait(false))
            {
                LogCompleted(lease.JobId, lease.Index, report.Items, report.Failed);
            }
            else
            {
                LogLeaseLost(lease.JobId, lease.Index);
            }
        }
        catch (OperationCanceledException) when (lost.IsCancellationRequested)
        {
            LogLeaseLost(lease.JobId, lease.Index);
        }
        catch (OperationCanceledException) when (handBack.IsCancellationRequested)
        {
            await HandBackAsync(lease).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            LogFailed(e, lease.JobId, lease.Index, lease.Attempt);
            await FailAsync(lease, $"{e.GetType().Name}: {e.Message}").ConfigureAwait(false);
        }
        finally
        {
            await done.CancelAsync().ConfigureAwait(false);
            await keeper.ConfigureAwait(false);
        }
    }

    private async Task HandBackAsync(ShardLease lease)
    {
        try
        {
            if (await store.ReleaseShardAsync(lease, CancellationToken.None).ConfigureAwait(false))
            {
                LogHandedBack(lease.JobId, lease.Index);
            }
            else
            {
                LogLeaseLost(lease.JobId, lease.Index);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The job grain is unreachable: the lease expires and the shard is queued again.
            LogFailed(e, lease.JobId, lease.Index, lease.Attempt);
        }
    }

    private async Task FailAsync(ShardLease lease, string error)
    {
        try
        {
            await store.FailShardAsync(lease, error, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The job grain is unreachable: the lease expires and the attempt is recorded.
            LogFailed(e, lease.JobId, lease.Index, lease.Attempt);
        }
    }

    private async Task<ShardReport> ExplainAsync(Shard shard)
    {
        var (lease, job, model) = (shard.Lease, shard.Job, shard.Model!);
        var spec = JobSpecs.PipelineOptionsOf(job);
        var pipeline = new ExplainPipeline(model.Model, model.Loader.Card, spec.ExplainerOptions(), RenderOptions.Create(job.Outputs));
        var fixedTargets = spec.FixedTargets;
        var labels = fixedTargets is null ? await datasets.ReadManifestAsync(job.Inputs.Manifest!, shard.Token).ConfigureAwait(false) : null;
        foreach (var chunk in lease.Items.Chunk(options.BatchSize))
        {
            using var batch = await LoadAsync(model, chunk, shard.Token).ConfigureAwait(false);
            TargetSelection?[] targets = [.. chunk.Select(item => fixedTargets ?? (labels!.TryGetValue(item, out var d) && d.Labels.Count > 0 ? TargetSelection.Classes([.. d.Labels]) : null))];
            ExplainedBatch explained;
            await model.Gate.WaitAsync(shard.Token).ConfigureAwait(false);
            try
            {
                explained = pipeline.Explain(batch, chunk, targets);
            }
            finally
            {
                model.Gate.Release();
            }

            await EnsureLeaseAsync(shard).ConfigureAwait(false);
            var prefix = BlobLayout.Job(lease.JobId);
            await Parallel.ForEachAsync(explained.Files, new ParallelOptions { MaxDegreeOfParallelism = WriteParallelism, CancellationToken = shard.Token },
                async (file, ct) => await PutOnceAsync(prefix + file.Path, file.Content, ct).ConfigureAwait(false)).ConfigureAwait(false);
            shard.Records.AddRange(explained.Records);
        }

        return await FinishAsync(shard, null).ConfigureAwait(false);
    }

    private async Task<ShardReport> EvaluateAsync(Shard shard)
    {
        var (lease, job, model) = (shard.Lease, shard.Job, shard.Model!);
        var spec = JobSpecs.PipelineOptionsOf(job);
        var pipeline = new EvalPipeline(model.Model, model.Loader.Card, spec.ExplainerOptions(), JobSpecs.MetricOptionsFor(job));
        var dataset = job.Inputs.Manifest is { } manifest ? await datasets.ReadManifestAsync(manifest, shard.Token).ConfigureAwait(false) : null;
        var preprocessor = new ImagePreprocessor(model.Loader.Card);
        var accumulator = new MetricAccumulator();
        foreach (var chunk in lease.Items.Chunk(options.BatchSize))
        {
            var inputs = await Task.WhenAll(chunk.Select(async name =>
            {
                if (dataset?.GetValueOrDefault(name) is not { } item)
                {
                    return new EvalInput(name, []);
                }

                try
                {
                    return new EvalInput(name, await Task.WhenAll(item.Objects.Select(async o =>
                    {
                        using var mask = RgbImage.Decode(await blobs.ReadAllBytesAsync(o.Mask, shard.Token).ConfigureAwait(false), o.Mask);
                        return new EvaluationObject(o.Class, preprocessor.Mask(mask));
                    })).ConfigureAwait(false));
                }
                catch (Exception e) when (e is ImageDecodeException or BlobNotFoundException or ArgumentException)
                {
                    // ArgumentException: a mask name no blob can have, from the manifest's line.
                    return new EvalInput(name, [], $"Input '{name}': {e.Message}");
                }
            })).ConfigureAwait(false);

            using var batch = await LoadAsync(model, chunk, shard.Token).ConfigureAwait(false);
            IReadOnlyList<ManifestRecord> records;
            await model.Gate.WaitAsync(shard.Token).ConfigureAwait(false);
            try
            {
                records = pipeline.Evaluate(batch, inputs, accumulator);
            }
            finally
            {
                model.Gate.Release();
            }

            await EnsureLeaseAsync(shard).ConfigureAwait(false);
            shard.Records.AddRange(records);
        }

        return await FinishAsync(shard, accumulator).ConfigureAwait(false);
    }

    /// <summary>Writes the shard's records under its fencing token, once the lease is confirmed.</summary>
    private async Task<ShardReport> FinishAsync(Shard shard, MetricAccumulator? accumulator)
    {
        await EnsureLeaseAsync(shard).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        foreach (var record in shard.Records)
        {
            buffer.Write(record.ToJsonLine());
        }

        var lease = shard.Lease;
        await PutOnceAsync(BlobLayout.ShardRecords(lease.JobId, lease.Index, lease.FencingToken), buffer.ToArray(), shard.Token).ConfigureAwait(false);
        var failed = shard.Records.Where(r => r.Error is not null).Select(r => r.Item).Distinct(StringComparer.Ordinal).Count();
        return new ShardReport(lease.Items.Count, failed, shard.Records.Count, lease.FencingToken, accumulator);
    }

    /// <summary>
    /// Downloads and decodes a chunk's inputs; a missing or undecodable input, or a name no blob can
    /// have (a job created before submissions were checked), becomes its error.
    /// </summary>
    private async Task<InputBatch> LoadAsync(LoadedModel model, string[] names, CancellationToken cancellationToken)
    {
        var data = await Task.WhenAll(names.Select(async Task<(byte[]? Bytes, string? Error)> (name) =>
        {
            if (BlobStore.NameProblem(name) is { } problem)
            {
                return (null, $"Input '{name}': {problem}");
            }

            try
            {
                return (await blobs.ReadAllBytesAsync(name, cancellationToken).ConfigureAwait(false), null);
            }
            catch (BlobNotFoundException)
            {
                return (null, $"Input '{name}' does not exist in the blob store.");
            }
        })).ConfigureAwait(false);
        return InputBatch.Load(model.Loader.Card, names.Length, (batch, i) =>
            model.Loader.LoadInto(data[i].Bytes ?? throw new InvalidDataException(data[i].Error), names[i], batch, i));
    }

    // Outputs are deterministic: one an earlier attempt wrote holds the same bytes, so a create-only
    // write that finds it keeps it instead of rewriting.
    private async Task PutOnceAsync(string name, byte[] content, CancellationToken cancellationToken)
    {
        try
        {
            await blobs.PutAsync(name, content, null, overwrite: false, cancellationToken).ConfigureAwait(false);
        }
        catch (BlobAlreadyExistsException)
        {
        }
    }

    /// <summary>The fence before a batch of writes: renews the lease, and stops the shard when it is lost.</summary>
    private async Task EnsureLeaseAsync(Shard shard)
    {
        shard.Token.ThrowIfCancellationRequested();
        if (!await store.RenewLeaseAsync(shard.Lease, options.LeaseDuration, shard.Token).ConfigureAwait(false))
        {
            await shard.Lost.CancelAsync().ConfigureAwait(false);
            shard.Token.ThrowIfCancellationRequested();
        }
    }

    private async Task KeepLeaseAsync(ShardLease lease, CancellationTokenSource lost, CancellationToken done)
    {
        while (true)
        {
            try
            {
                await Task.Delay(options.RenewInterval, done).ConfigureAwait(false);
                if (!await store.RenewLeaseAsync(lease, options.LeaseDuration, done).ConfigureAwait(false))
                {
                    await lost.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
            catch (OperationCanceledException) when (done.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The store stayed unreachable past its retry window, longer than the lease can be trusted.
                LogFailed(e, lease.JobId, lease.Index, lease.Attempt);
                await lost.CancelAsync().ConfigureAwait(false);
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Job}/{Index} done: {Items} items, {Failed} failed")]
    private partial void LogCompleted(Guid job, int index, int items, int failed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shard {Job}/{Index}: lease lost, stopped")]
    private partial void LogLeaseLost(Guid job, int index);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shard {Job}/{Index} handed back unfinished: the worker is stopping")]
    private partial void LogHandedBack(Guid job, int index);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shard {Job}/{Index} attempt {Attempt} failed")]
    private partial void LogFailed(Exception error, Guid job, int index, int attempt);

    /// <summary>
    /// One shard in progress: its lease, job, model (null for pwla), records so far, what a lost lease
    /// cancels, and the token that stops the work (a lost lease or a hand-back).
    /// </summary>
    private sealed record Shard(ShardLease Lease, JobSubmission Job, LoadedModel? Model, CancellationTokenSource Lost, CancellationToken Token)
    {
        public List<ManifestRecord> Records { get; } = [];
    }
}
