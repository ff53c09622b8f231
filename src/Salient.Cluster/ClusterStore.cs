using Npgsql;
using Salient.Cluster.Internal;

namespace Salient.Cluster;

/// <summary>
/// The cluster's coordination state in PostgreSQL: jobs cut into shards, workers leasing shards
/// under fencing tokens, the sweeper that re-queues or dead-letters expired leases, and the wake-up
/// channel for idle workers. Safe for concurrent use; every operation retries transient failures
/// (a restarting server, dropped connections) for <see cref="ClusterStoreOptions.TransientRetryWindow"/>.
/// </summary>
public sealed partial class ClusterStore : IAsyncDisposable, IShardLeases, IClusterJobs
{
    /// <summary>The NOTIFY channel announcing new shards.</summary>
    internal const string ShardChannel = "salient_shards";

    private readonly Database _database;
    private readonly ClusterStoreOptions _options;
    private readonly NpgsqlDataSource? _ownedDataSource;

    /// <summary>A store on a data source the caller owns.</summary>
    public ClusterStore(NpgsqlDataSource dataSource, ClusterStoreOptions? options = null)
        : this(dataSource, options, ownedDataSource: null)
    {
    }

    private ClusterStore(NpgsqlDataSource dataSource, ClusterStoreOptions? options, NpgsqlDataSource? ownedDataSource)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        _options = options ?? new ClusterStoreOptions();
        _database = new Database(dataSource, _options.TransientRetryWindow);
        _ownedDataSource = ownedDataSource;
    }

    /// <summary>A store with its own data source for <paramref name="connectionString"/>, disposed with the store.</summary>
    public static ClusterStore Create(string connectionString, ClusterStoreOptions? options = null)
    {
        var dataSource = NpgsqlDataSource.Create(connectionString);
        return new ClusterStore(dataSource, options, dataSource);
    }

    /// <summary>
    /// Creates or migrates the schema; safe when several coordinators start together.
    /// Returns how many migrations it applied.
    /// </summary>
    public Task<int> MigrateAsync(CancellationToken cancellationToken = default) =>
        Migrator.MigrateAsync(_database, cancellationToken);

    /// <summary>
    /// Starts listening for new shards on a dedicated connection; when the returned task completes,
    /// every shard created afterwards wakes <see cref="WorkListener.WaitForWorkAsync"/>.
    /// </summary>
    public Task<WorkListener> ListenAsync(CancellationToken cancellationToken = default) =>
        WorkListener.StartAsync(_database, cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _ownedDataSource?.DisposeAsync() ?? ValueTask.CompletedTask;

    private DateTimeOffset Now => _options.TimeProvider.GetUtcNow();
}
