using System.Diagnostics;
using Npgsql;

namespace Salient.Cluster.Internal;

/// <summary>
/// Runs units of work on pooled connections and reruns a whole unit when PostgreSQL or the network
/// fails transiently (a restart, a dropped connection, a deadlock), for up to a retry window.
/// </summary>
/// <remarks>
/// A rerun after a failure during COMMIT may repeat work that did commit, so every unit is written
/// to be safe to repeat: inserts carry client-made ids, completions recognise their own lease.
/// </remarks>
public sealed class Database(NpgsqlDataSource dataSource, TimeSpan retryWindow)
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(1);

    public NpgsqlDataSource DataSource => dataSource;

    /// <summary>Runs <paramref name="work"/> on a fresh connection, again after each transient failure.</summary>
    public Task<T> RunAsync<T>(Func<NpgsqlConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken) =>
        RetryAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct).ConfigureAwait(false);
            return await work(connection, ct).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Runs <paramref name="attempt"/> until it succeeds, fails for good, or the retry window is spent.</summary>
    public async Task<T> RetryAsync<T>(Func<CancellationToken, Task<T>> attempt, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var delay = FirstDelay;
        while (true)
        {
            try
            {
                return await attempt(cancellationToken).ConfigureAwait(false);
            }
            catch (NpgsqlException e) when (IsTransient(e) && Stopwatch.GetElapsedTime(started) < retryWindow)
            {
                // After a server restart every idle pooled connection is dead: drop them all at once
                // rather than meeting them one failure at a time.
                dataSource.Clear();
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
    }

    public Task<T> InTransactionAsync<T>(
        Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task<T>> work, CancellationToken cancellationToken) =>
        RunAsync(async (connection, ct) =>
        {
            await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
            var result = await work(connection, transaction, ct).ConfigureAwait(false);
            await transaction.CommitAsync(ct).ConfigureAwait(false);
            return result;
        }, cancellationToken);

    /// <summary>Connection failures, server shutdown and restart, serialization failures and deadlocks.</summary>
    public static bool IsTransient(NpgsqlException e) =>
        e.IsTransient || e.SqlState is { } state && (state.StartsWith("08", StringComparison.Ordinal)
            || state is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
                or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.SerializationFailure
                or PostgresErrorCodes.DeadlockDetected);
}
