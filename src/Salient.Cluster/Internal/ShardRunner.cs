using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Salient.Client;
using Salient.Cluster.Worker;
using Salient.Imaging;
using Salient.Methods;
using Salient.Methods.Metrics;
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
            var model = lease.JobKind == "pwla" ? null : await models.GetAsync(lease.Model, stop.Token).ConfigureAwait(false);
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
        var explainers = job.Methods.Select(m => Explainer.Create(model.Model, JobSpecs.ExplainOptionsFor(job, m) with { Scores = ClassScores.For(model.Loader.Card) })).ToArray();
        var rendering = RenderOptions.Create(job.Outputs);
        var fixedTargets = JobSpecs.FixedTargets(job.Targets);
        var labels = fixedTargets is null ? await datasets.ReadManifestAsync(job.Inputs.Manifest!, shard.Token).ConfigureAwait(false) : null;
        foreach (var chunk in lease.Items.Chunk(options.BatchSize))
        {
            using var batch = await LoadAsync(model, chunk, shard.Token).ConfigureAwait(false);
            TargetSelection?[] targets = [.. chunk.Select(item => fixedTargets ?? (labels!.TryGetValue(item, out var d) && d.Labels.Count > 0 ? TargetSelection.Classes([.. d.Labels]) : null))];
            var perMethod = new IReadOnlyList<ExplainedTarget>[explainers.Length];
            await model.Gate.WaitAsync(shard.Token).ConfigureAwait(false);
            try
            {
                for (var m = 0; m < explainers.Length; m++)
                {
                    perMethod[m] = BatchExplainer.Explain(explainers[m], batch, chunk, targets, model.Loader.Card, rendering).Targets;
                }
            }
            finally
            {
                model.Gate.Release();
            }

            await EnsureLeaseAsync(shard).ConfigureAwait(false);
            var prefix = BlobLayout.Job(lease.JobId);
            var files = perMethod.SelectMany(t => t).SelectMany(t => t.Files.Select(f => (Name: $"{prefix}items/{t.Stem}{f.Suffix}", f.Content))).ToList();
            await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = WriteParallelism, CancellationToken = shard.Token },
                async (file, ct) => await PutOnceAsync(file.Name, file.Content, ct).ConfigureAwait(false)).ConfigureAwait(false);
            for (var i = 0; i < chunk.Length; i++)
            {
                for (var m = 0; m < explainers.Length; m++)
                {
                    var layer = BatchExplainer.LayerLabel(explainers[m]);
                    foreach (var target in perMethod[m].Where(t => t.Input == i))
                    {
                        shard.Add(new ResultRecord(chunk[i], job.Methods[m], layer, target.Class, target.Label, target.Class is null ? null : target.Score,
                            target.Error is null ? target.Files.ToDictionary(f => f.Key, f => $"items/{target.Stem}{f.Suffix}") : null, target.Error));
                    }
                }
            }
        }

        return await FinishAsync(shard, null).ConfigureAwait(false);
    }

    private async Task<ShardReport> EvaluateAsync(Shard shard)
    {
        var (lease, job, model) = (shard.Lease, shard.Job, shard.Model!);
        var evaluator = new MetricEvaluator(model.Model, [.. job.Methods.Select(m => JobSpecs.ExplainOptionsFor(job, m))], JobSpecs.MetricOptionsFor(job) with { Scores = ClassScores.For(model.Loader.Card) });
        var dataset = job.Inputs.Manifest is { } manifest ? await datasets.ReadManifestAsync(manifest, shard.Token).ConfigureAwait(false) : null;
        var preprocessor = new ImagePreprocessor(model.Loader.Card);
        var labels = model.Loader.Card.Labels;
        var accumulator = new MetricAccumulator();
        foreach (var chunk in lease.Items.Chunk(options.BatchSize))
        {
            var errors = new string?[chunk.Length];
            var objects = new EvaluationObject[chunk.Length][];
            for (var i = 0; i < chunk.Length; i++)
            {
                objects[i] = [];
                if (dataset?.GetValueOrDefault(chunk[i]) is { } item)
                {
                    try
                    {
                        objects[i] = [.. await Task.WhenAll(item.Objects.Select(async o =>
                        {
                            using var mask = RgbImage.Decode(await blobs.ReadAllBytesAsync(o.Mask, shard.Token).ConfigureAwait(false), o.Mask);
                            return new EvaluationObject(o.Class, preprocessor.Mask(mask));
                        })).ConfigureAwait(false)];
                    }
                    catch (Exception e) when (e is ImageDecodeException or BlobNotFoundException or ArgumentException)
                    {
                        // ArgumentException: a mask name no blob can have, from the manifest's line.
                        errors[i] = e.Message;
                    }
                }
            }

            using var batch = await LoadAsync(model, chunk, shard.Token).ConfigureAwait(false);
            var rows = batch.Loaded.Where(i => errors[i] is null).ToArray();
            var results = new List<ItemEvaluation>();
            if (rows.Length > 0)
            {
                await model.Gate.WaitAsync(shard.Token).ConfigureAwait(false);
                try
                {
                    using var tensor = rows.Length == batch.Loaded.Count ? null : Rows(batch, rows);
                    results.AddRange(evaluator.Evaluate(tensor ?? batch.Tensor!, [.. rows.Select(i => new EvaluationItem(chunk[i], objects[i]))], accumulator));
                }
                finally
                {
                    model.Gate.Release();
                }
            }

            await EnsureLeaseAsync(shard).ConfigureAwait(false);
            for (var i = 0; i < chunk.Length; i++)
            {
                var row = Array.IndexOf(rows, i);
                var error = errors[i] ?? batch.Errors[i];
                foreach (var method in evaluator.Methods)
                {
                    if (row < 0)
                    {
                        accumulator.CountItem(method, failed: true);
                        shard.Add(new ResultRecord(chunk[i], method, null, null, null, null, null, error));
                        continue;
                    }

                    var result = results.Single(r => r.Item == row && r.Method == method);
                    if (result.Error is not null || result.Targets.Count == 0)
                    {
                        shard.Add(new ResultRecord(chunk[i], method, null, null, null, null, null, result.Error ?? "no target"));
                    }

                    foreach (var target in result.Targets)
                    {
                        var scores = new JsonObject(target.Scores.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)Math.Round(kv.Value, 6))));
                        if (result.MeanIoU is { } iou)
                        {
                            scores["miou"] = Math.Round(iou, 6);
                        }

                        shard.Add(new ResultRecord(chunk[i], method, null, target.Class, target.Class < labels.Count ? labels[target.Class] : null, target.Probability,
                            null, null, scores));
                    }
                }
            }
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
            JsonSerializer.Serialize(buffer, record, SalientJson.Options);
            buffer.WriteByte((byte)'\n');
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

    private static Engine.Tensor Rows(InputBatch batch, int[] inputs)
    {
        var all = batch.Tensor!;
        var size = all.Length / all.Dim(0);
        var result = Engine.Tensor.Uninitialized([inputs.Length, .. all.Shape[1..]]);
        for (var j = 0; j < inputs.Length; j++)
        {
            all.Span.Slice(batch.RowOf(inputs[j]) * size, size).CopyTo(result.Span.Slice(j * size, size));
        }

        return result;
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
        public List<ResultRecord> Records { get; } = [];

        public void Add(ResultRecord record) => Records.Add(record);
    }
}
