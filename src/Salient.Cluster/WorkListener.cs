using Npgsql;
using Salient.Cluster.Internal;

namespace Salient.Cluster;

/// <summary>
/// Wakes an idle worker when shards are created, through PostgreSQL LISTEN/NOTIFY on a dedicated
/// connection that reconnects by itself. Notifications are a latency hint, not a guarantee (they
/// are lost while the connection is down), so <see cref="WaitForWorkAsync"/> also returns after a
/// poll interval and the worker then claims anyway.
/// </summary>
public sealed class WorkListener : IAsyncDisposable
{
    // An idle LISTEN connection is probed this often, so that a silently dead one is replaced.
    private static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ReconnectDelay = TimeSpan.FromSeconds(1);

    private readonly Database _database;

    // Holds at most one pending wake-up: a notification that arrives while the worker is busy
    // claiming is not lost, and any number of notifications wake it once.
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    private WorkListener(Database database) => _database = database;

    /// <summary>
    /// Waits until shards were created since the last wake-up, or for <paramref name="pollInterval"/>.
    /// Returns <c>true</c> when woken by a notification, <c>false</c> when the interval passed.
    /// </summary>
    public Task<bool> WaitForWorkAsync(TimeSpan pollInterval, CancellationToken cancellationToken = default) =>
        _signal.WaitAsync(pollInterval, cancellationToken);

    /// <summary>Stops listening and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
        _signal.Dispose();
    }

    internal static async Task<WorkListener> StartAsync(Database database, CancellationToken cancellationToken)
    {
        var listener = new WorkListener(database);
        var connection = await listener.ConnectAsync(cancellationToken).ConfigureAwait(false);
        listener._loop = listener.ListenAsync(connection);
        return listener;
    }

    private Task<NpgsqlConnection> ConnectAsync(CancellationToken cancellationToken) =>
        _database.RetryAsync(async ct =>
        {
            var connection = await _database.DataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            try
            {
                connection.Notification += (_, _) => Signal();
                await using var listen = connection.Command($"LISTEN {ClusterStore.ShardChannel}");
                await listen.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                return connection;
            }
            catch
            {
                await connection.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }, cancellationToken);

    private async Task ListenAsync(NpgsqlConnection connection)
    {
        var stop = _stop.Token;
        while (true)
        {
            try
            {
                await using (connection.ConfigureAwait(false))
                {
                    while (true)
                    {
                        if (!await connection.WaitAsync(ProbeInterval, stop).ConfigureAwait(false))
                        {
                            await using var probe = connection.Command("SELECT 1");
                            await probe.ExecuteNonQueryAsync(stop).ConfigureAwait(false);
                        }
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (NpgsqlException)
            {
                // The connection broke (e.g. the server restarted): reconnect below.
            }

            try
            {
                connection = await ReconnectAsync(stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }

            // Notifications sent while disconnected are lost: let the waiter look for itself.
            Signal();
        }
    }

    private async Task<NpgsqlConnection> ReconnectAsync(CancellationToken stop)
    {
        while (true)
        {
            try
            {
                return await ConnectAsync(stop).ConfigureAwait(false);
            }
            catch (NpgsqlException)
            {
                await Task.Delay(ReconnectDelay, stop).ConfigureAwait(false);
            }
        }
    }

    // Called only from the listening loop (notifications are raised inside WaitAsync), so the
    // check-then-release cannot race with another release.
    private void Signal()
    {
        if (_signal.CurrentCount == 0)
        {
            _signal.Release();
        }
    }
}
