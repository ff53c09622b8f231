using Salient.Client;
using Salient.Cluster.Internal;
using Salient.Imaging;
using Salient.Methods.Metrics;
using Salient.Methods.Pipeline;
using Salient.Storage;

namespace Salient.Cluster;

/// <summary>
/// One leased shard as a <see cref="JobKind"/> runs it: its lease, job, model and the records so far, with the
/// worker's ways to read inputs, compute on the shared model, write outputs create-only under the job's folder, and
/// fence each batch of writes by renewing the lease. <see cref="Token"/> stops the work when the lease is lost or the
/// worker hands the shard back.
/// </summary>
public sealed class ShardRun
{
    private readonly IShardLeases _leases;
    private readonly CancellationTokenSource _lost;
    private readonly TimeSpan _leaseDuration;

    internal ShardRun(ShardLease lease, JobSubmission job, LoadedModel? model, IBlobStore blobs, JobDataset datasets, int batchSize,
        IShardLeases leases, TimeSpan leaseDuration, CancellationTokenSource lost, CancellationToken token)
    {
        (Lease, Job, Model, Blobs, Datasets, BatchSize, Token) = (lease, job, model, blobs, datasets, batchSize, token);
        (_leases, _leaseDuration, _lost) = (leases, leaseDuration, lost);
    }

    /// <summary>The lease: job, shard index, items, fencing token.</summary>
    public ShardLease Lease { get; }

    /// <summary>The job's submission as stored.</summary>
    public JobSubmission Job { get; }

    /// <summary>The job's model on this worker's device; null for a kind that uses none.</summary>
    public LoadedModel? Model { get; }

    /// <summary>The cluster's blob store (inputs, outputs).</summary>
    public IBlobStore Blobs { get; }

    /// <summary>Reads the job's input manifests.</summary>
    public JobDataset Datasets { get; }

    /// <summary>Items per batch on this worker.</summary>
    public int BatchSize { get; }

    /// <summary>Cancelled when the lease is lost or the shard is handed back.</summary>
    public CancellationToken Token { get; }

    /// <summary>The shard's records so far, one per item (and method and target where the kind has them).</summary>
    public List<ManifestRecord> Records { get; } = [];

    /// <summary>The job's model, which a kind that uses one always has.</summary>
    public LoadedModel RequiredModel => Model ?? throw new InvalidOperationException($"Job kind '{Job.Kind}' runs without a model.");

    /// <summary>
    /// Downloads and decodes a batch of input images for the model; a missing or undecodable input, or a name no
    /// blob can have, becomes its error in the batch.
    /// </summary>
    public async Task<InputBatch> LoadInputsAsync(string[] names)
    {
        var model = RequiredModel;
        var data = await Task.WhenAll(names.Select(async Task<(byte[]? Bytes, string? Error)> (name) =>
        {
            if (BlobStore.NameProblem(name) is { } problem)
            {
                return (null, $"Input '{name}': {problem}");
            }

            try
            {
                return (await Blobs.ReadAllBytesAsync(name, Token).ConfigureAwait(false), null);
            }
            catch (BlobNotFoundException)
            {
                return (null, $"Input '{name}' does not exist in the blob store.");
            }
        })).ConfigureAwait(false);
        return InputBatch.Load(model.Loader.Card, names.Length, (batch, i) =>
            model.Loader.LoadInto(data[i].Bytes ?? throw new InvalidDataException(data[i].Error), names[i], batch, i));
    }

    /// <summary>Runs <paramref name="compute"/> on the model when its turn comes: the shards of one model share it one at a time.</summary>
    public async Task<T> ComputeAsync<T>(Func<LoadedModel, T> compute)
    {
        ArgumentNullException.ThrowIfNull(compute);
        var model = RequiredModel;
        await model.Gate.WaitAsync(Token).ConfigureAwait(false);
        try
        {
            return compute(model);
        }
        finally
        {
            model.Gate.Release();
        }
    }

    /// <summary>The fence before a batch of writes: renews the lease, and stops the shard when it is lost.</summary>
    public async Task EnsureLeaseAsync()
    {
        Token.ThrowIfCancellationRequested();
        if (!await _leases.RenewLeaseAsync(Lease, _leaseDuration, Token).ConfigureAwait(false))
        {
            await _lost.CancelAsync().ConfigureAwait(false);
            Token.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Writes an output under the job's folder (<paramref name="path"/> relative to it), create-only: outputs are
    /// deterministic, so one an earlier attempt wrote holds the same bytes and is kept.
    /// </summary>
    public Task PutOutputAsync(string path, byte[] content) => PutOnceAsync(BlobLayout.Job(Lease.JobId) + path, content);

    /// <summary>
    /// Once the lease is confirmed, keeps the shard's records (in its report when small, else in a blob under its fencing
    /// token: <see cref="ShardRecords.KeepAsync"/>) and makes its report.
    /// </summary>
    public async Task<ShardReport> FinishAsync(MetricAccumulator? accumulator = null)
    {
        await EnsureLeaseAsync().ConfigureAwait(false);
        using var buffer = new MemoryStream();
        foreach (var record in Records)
        {
            buffer.Write(record.ToJsonLine());
        }

        var inline = await ShardRecords.KeepAsync(Blobs, Lease, buffer.ToArray(), Token).ConfigureAwait(false);
        var failed = Records.Where(r => r.Error is not null).Select(r => r.Item).Distinct(StringComparer.Ordinal).Count();
        return new ShardReport(Lease.Items.Count, failed, Records.Count, Lease.FencingToken, accumulator, RecordLines: inline);
    }

    private async Task PutOnceAsync(string name, byte[] content)
    {
        try
        {
            await Blobs.PutAsync(name, content, null, overwrite: false, Token).ConfigureAwait(false);
        }
        catch (BlobAlreadyExistsException)
        {
        }
    }
}
