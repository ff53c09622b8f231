using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Salient.Cluster.Contracts;
using Salient.Cluster.Placement;
using Salient.Cluster.Silo;

namespace Salient.Cluster.Grains;

/// <summary>
/// One model on one worker silo and device. Assignments go into a bounded queue ordered by job priority,
/// then submission, then shard (a full queue hands its last shard back for one that ranks before it); <c>capacity</c> runners take them outside the grain's turn (the grain
/// keeps answering while shards compute) and report through the job grains. Queued shards' leases are renewed
/// while they wait (a queue of long shards outlasts a lease), and those whose lease was lost are dropped. A
/// stopping silo hands the queued shards back at once and the running ones after <see cref="ClusterGrainOptions.HandBackAfter"/>.
/// </summary>
[ModelPlacement]
internal sealed partial class ModelGrain(
    IShardExecutor executor, SiloSetup.WorkerSlots slots, LocalModelGrains local, IOptions<ClusterGrainOptions> options, ILogger<ModelGrain> logger)
    : Grain, IModelGrain, IDisposable
{
    private readonly ClusterGrainOptions _options = options.Value;
    private readonly PriorityQueue<ShardWork, (int Priority, DateTimeOffset SubmittedAt, Guid Job, int Index)> _queue = new();
    private readonly SemaphoreSlim _available = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _handBack = new();
    private readonly List<Task> _runners = [];
    private int _running;
    private Task? _drain;

    private int QueueLimit => slots.Capacity * _options.QueuePerSlot;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        local.Keys[this.GetPrimaryKeyString()] = 0;
        // Loaded models and warm queues are worth keeping: the grain lives as long as its silo.
        this.RegisterGrainTimer(() => Task.CompletedTask, new GrainTimerCreationOptions(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)) { KeepAlive = true });
        var renewal = _options.LeaseDuration / 3;
        this.RegisterGrainTimer(RenewQueuedAsync, new GrainTimerCreationOptions(renewal, renewal) { Interleave = true });
        for (var i = 0; i < slots.Capacity; i++)
        {
            _runners.Add(Task.Run(RunAsync, CancellationToken.None));
        }

        return Task.CompletedTask;
    }

    public Task<bool[]> AssignAsync(IReadOnlyList<ShardWork> shards)
    {
        ArgumentNullException.ThrowIfNull(shards);
        var accepted = new bool[shards.Count];
        var (added, displaced) = (0, new List<ShardWork>());
        lock (_queue)
        {
            for (var i = 0; i < shards.Count && !_stopping.IsCancellationRequested; i++)
            {
                var work = shards[i];
                var rank = (work.Priority, work.SubmittedAt, work.JobId, work.Index);
                if (_queue.Count >= QueueLimit)
                {
                    // Full: a shard that ranks before the last queued one takes its place, and that one goes back to its
                    // job. Otherwise later work of a lower priority, queued first, would hold the queue against an urgent job.
                    var last = _queue.UnorderedItems.MaxBy(q => q.Priority);
                    if (rank.CompareTo(last.Priority) >= 0)
                    {
                        continue;
                    }

                    _queue.Remove(last.Element, out _, out _, ReferenceEqualityComparer.Instance);
                    displaced.Add(last.Element);
                }
                else
                {
                    added++;
                }

                _queue.Enqueue(work, rank);
                accepted[i] = true;
            }
        }

        if (added > 0)
        {
            _available.Release(added);
        }

        displaced.ForEach(work => _ = ReleaseAsync(work));
        return Task.FromResult(accepted);
    }

    public Task<int> GetLoadAsync()
    {
        lock (_queue)
        {
            return Task.FromResult(_queue.Count + Volatile.Read(ref _running));
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        await DrainAsync().ConfigureAwait(true);
        local.Keys.TryRemove(this.GetPrimaryKeyString(), out _);
    }

    public Task DrainAsync() => _drain ??= DrainOnceAsync();

    private async Task DrainOnceAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(true);
        List<ShardWork> queued;
        lock (_queue)
        {
            queued = [.. _queue.UnorderedItems.Select(i => i.Element)];
            _queue.Clear();
        }

        var (key, running) = (this.GetPrimaryKeyString(), Volatile.Read(ref _running));
        LogStopping(key, queued.Count, running);
        await Task.WhenAll(queued.Select(ReleaseAsync)).ConfigureAwait(true);
        var all = Task.WhenAll(_runners);
        if (await Task.WhenAny(all, Task.Delay(_options.HandBackAfter, CancellationToken.None)).ConfigureAwait(true) != all)
        {
            await _handBack.CancelAsync().ConfigureAwait(true);
        }

        await all.ConfigureAwait(true);
    }

    public void Dispose()
    {
        _available.Dispose();
        _stopping.Dispose();
        _handBack.Dispose();
    }

    /// <summary>Renews the leases of the queued shards; drops those the job grain no longer gives this grain.</summary>
    private async Task RenewQueuedAsync()
    {
        List<ShardWork> queued;
        lock (_queue)
        {
            queued = [.. _queue.UnorderedItems.Select(i => i.Element)];
        }

        var held = await Task.WhenAll(queued.Select(async work =>
        {
            try
            {
                return await GrainFactory.GetGrain<IJobGrain>(work.JobId).RenewAsync(work.Index, work.Token).ConfigureAwait(true);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Unreachable for now: the lease decides, and the runner's renewal finds out.
                return true;
            }
        })).ConfigureAwait(true);
        var lost = queued.Where((_, i) => !held[i]).ToHashSet(ReferenceEqualityComparer.Instance);
        if (lost.Count == 0)
        {
            return;
        }

        lock (_queue)
        {
            var kept = _queue.UnorderedItems.Where(i => !lost.Contains(i.Element)).ToList();
            _queue.Clear();
            _queue.EnqueueRange(kept);
        }
    }

    private async Task ReleaseAsync(ShardWork work)
    {
        try
        {
            await GrainFactory.GetGrain<IJobGrain>(work.JobId).ReleaseAsync(work.Index, work.Token).ConfigureAwait(true);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The job grain is unreachable: the lease expires and the shard is assigned again.
            LogReleaseError(e, work.JobId, work.Index);
        }
    }

    /// <summary>One runner: takes the next shard and runs it, on the thread pool (started by Task.Run, so its context is the pool's).</summary>
    private async Task RunAsync()
    {
        while (true)
        {
            try
            {
                await _available.WaitAsync(_stopping.Token).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            ShardWork? work;
            lock (_queue)
            {
                _queue.TryDequeue(out work, out _);
            }

            if (work is null)
            {
                continue;
            }

            Interlocked.Increment(ref _running);
            try
            {
                await executor.RunAsync(ToLease(work, ModelGrainKey.Parse(this.GetPrimaryKeyString()).Device), _handBack.Token).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }
    }

    private static ShardLease ToLease(ShardWork work, string device) => new(
        work.Index, work.JobId, work.Index, work.Kind, JsonElement.Parse(work.Spec), new ModelRef(work.Model.Key, work.Model.Uri, work.Model.Sha256),
        work.FirstItem, work.Items, work.Attempt, work.MaxAttempts, Guid.Empty, work.Token, work.LeaseExpiresAt, device);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model grain {Key} stopping: handing back {Queued} queued shards, {Running} running")]
    private partial void LogStopping(string key, int queued, int running);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handing back job {Job} shard {Index} failed")]
    private partial void LogReleaseError(Exception error, Guid job, int index);
}

/// <summary>The model grains active on this silo, for draining them when it stops.</summary>
internal sealed class LocalModelGrains
{
    public System.Collections.Concurrent.ConcurrentDictionary<string, byte> Keys { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Stops before the silo does (registered after it): drains every local model grain while the job grains can
/// still be reached, so that queued and unfinished shards go back to their jobs instead of waiting for a lease.
/// </summary>
internal sealed class ModelGrainDrain(LocalModelGrains local, IGrainFactory grains) : Microsoft.Extensions.Hosting.IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // An ungraceful stop (its token already cancelled, as a test cluster's kill) drains nothing.
        if (cancellationToken.IsCancellationRequested)
        {
            return;
        }

        try
        {
            await Task.WhenAll(local.Keys.Keys.Select(key => grains.GetGrain<IModelGrain>(key).DrainAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The host stops waiting: the silo's own shutdown deactivates the grains, which hand back what is left.
        }
    }
}
