using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Salient.Cluster.Internal;
using Salient.Storage;

namespace Salient.Cluster.Worker;

/// <summary>
/// A cluster worker: registers its devices, models and capacity, claims shards of its models only,
/// runs them (<c>explain</c> or <c>eval</c>) with leases renewed on a timer, and heartbeats. It
/// wakes on new shards through LISTEN/NOTIFY and polls as a fallback. Stopping drains: it claims
/// nothing more and finishes the shards in flight, handing back those still unfinished after
/// <see cref="WorkerOptions.HandBackAfter"/> so that other workers take them at once.
/// </summary>
public sealed partial class ClusterWorker : BackgroundService
{
    private readonly ClusterStore _store;
    private readonly IBlobStore _blobs;
    private readonly WorkerOptions _options;
    private readonly ILogger<ClusterWorker> _logger;
    private readonly ModelCache _models;
    private readonly ShardRunner _runner;
    private long _lastHeartbeat;

    /// <summary>A worker over the cluster's store and blob store.</summary>
    public ClusterWorker(ClusterStore store, IBlobStore blobs, WorkerOptions options, ILogger<ClusterWorker> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _store = store;
        _blobs = blobs;
        _options = options;
        _logger = logger;
        _models = new ModelCache(blobs, options.ModelCache);
        _runner = new ShardRunner(store, blobs, _models, new JobDataset(blobs), options, logger);
    }

    /// <summary>The id it registered under, once registered.</summary>
    public Guid? Id { get; private set; }

    /// <summary>Registered, its pinned models loaded, and its last heartbeat recent: the store is reachable.</summary>
    public bool IsReady =>
        Id is not null && Environment.TickCount64 - Interlocked.Read(ref _lastHeartbeat) < 3 * _options.RenewInterval.TotalMilliseconds;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var devices = _options.Devices.Select(d => new DeviceInfo(d.Split(':')[0], d)).ToArray();
        var id = await _store.RegisterWorkerAsync(new WorkerRegistration(_options.Name, devices, _options.Models, _options.Capacity), stoppingToken).ConfigureAwait(false);
        await PreloadAsync(stoppingToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _lastHeartbeat, Environment.TickCount64);
        Id = id;
        LogRegistered(id, _options.Name, _options.Models, _options.Capacity);

        using var stopHeartbeat = new CancellationTokenSource();
        using var handBack = new CancellationTokenSource();
        var heartbeat = HeartbeatAsync(id, stopHeartbeat.Token);
        var running = new List<Task>();
        try
        {
            await using var listener = await _store.ListenAsync(stoppingToken).ConfigureAwait(false);
            while (!stoppingToken.IsCancellationRequested)
            {
                running.RemoveAll(t => t.IsCompleted);
                var free = _options.Capacity - running.Count;
                if (free == 0)
                {
                    await Task.WhenAny([.. running, Task.Delay(Timeout.Infinite, stoppingToken)]).ConfigureAwait(false);
                    continue;
                }

                var leases = await ClaimAsync(id, free, stoppingToken).ConfigureAwait(false);
                running.AddRange(leases.Select(lease => Task.Run(() => _runner.RunAsync(lease, handBack.Token), CancellationToken.None)));
                if (leases.Count < free)
                {
                    await listener.WaitForWorkAsync(_options.PollInterval, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Draining below.
        }

        var inFlight = running.Count(t => !t.IsCompleted);
        LogDraining(inFlight);
        var all = Task.WhenAll(running);
        if (await Task.WhenAny(all, Task.Delay(_options.HandBackAfter, CancellationToken.None)).ConfigureAwait(false) != all)
        {
            var unfinished = running.Count(t => !t.IsCompleted);
            LogHandingBack(unfinished);
            await handBack.CancelAsync().ConfigureAwait(false);
        }

        await all.ConfigureAwait(false);
        await stopHeartbeat.CancelAsync().ConfigureAwait(false);
        await heartbeat.ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<ShardLease>> ClaimAsync(Guid id, int count, CancellationToken stoppingToken)
    {
        try
        {
            return await _store.ClaimShardsAsync(id, _options.Models, count, _options.LeaseDuration, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The store stayed unreachable past its retry window: keep trying at the poll interval.
            LogStoreError(e);
            return [];
        }
    }

    /// <summary>Loads the pinned models that are registered, so the first shard does not wait and readiness means it.</summary>
    private async Task PreloadAsync(CancellationToken cancellationToken)
    {
        var registry = new ModelRegistry(_blobs);
        foreach (var key in _options.Models.Keys ?? [])
        {
            if (await registry.GetAsync(key, cancellationToken).ConfigureAwait(false) is { } model)
            {
                await _models.GetAsync(new ModelRef(model.Key, model.Uri, model.Sha256), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task HeartbeatAsync(Guid id, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.RenewInterval, stop).ConfigureAwait(false);
                await _store.HeartbeatWorkerAsync(id, stop).ConfigureAwait(false);
                Interlocked.Exchange(ref _lastHeartbeat, Environment.TickCount64);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogStoreError(e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {Id} ({Name}) registered: models {Models}, capacity {Capacity}")]
    private partial void LogRegistered(Guid id, string name, HostedModels models, int capacity);

    [LoggerMessage(Level = LogLevel.Information, Message = "Draining: finishing {Count} shards in flight")]
    private partial void LogDraining(int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Drain time is up: handing back {Count} unfinished shards after their current batch")]
    private partial void LogHandingBack(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The cluster store is unreachable")]
    private partial void LogStoreError(Exception error);
}
