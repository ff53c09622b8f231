using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using Salient.Cluster.Internal;

namespace Salient.Cluster;

// Shard leases: claims, renewals, fenced completion and failure, and the sweeper.
// Lock order everywhere: shard rows, then job rows (in id order).
public sealed partial class ClusterStore
{
    // Restricted twice: to the models the worker registered (it may never take others) and to the
    // models it asks for now (e.g. those already loaded). Shards that need no model (ModelRef.None) suit every worker.
    private const string ClaimSql = """
        WITH w AS (SELECT models FROM workers WHERE id = @worker),
        picked AS (
            SELECT s.id FROM shards s, w
            WHERE s.state = 'queued' AND s.not_before <= @now
              AND (s.model_key = @no_model
                   OR ((w.models IS NULL OR s.model_key = ANY(w.models))
                       AND (@models::text[] IS NULL OR s.model_key = ANY(@models))))
            ORDER BY s.priority, s.id
            LIMIT @count
            FOR UPDATE OF s SKIP LOCKED)
        UPDATE shards s
        SET state = 'leased', attempt = s.attempt + 1, lease_id = gen_random_uuid(),
            fencing_token = nextval('shard_fencing_tokens'), leased_by = @worker, lease_expires_at = @now + @lease
        FROM picked p, jobs j
        WHERE s.id = p.id AND j.id = s.job_id
        RETURNING s.id, s.job_id, s.index, j.kind, j.spec, j.model_key, j.model_uri, j.model_sha256,
                  s.first_item, s.items, s.attempt, s.max_attempts, s.lease_id, s.fencing_token, s.lease_expires_at, s.priority
        """;

    private const string StartJobsSql = """
        UPDATE jobs SET state = 'running', updated_at = @now
        WHERE id IN (SELECT id FROM jobs WHERE id = ANY(@jobs) AND state = 'queued' ORDER BY id FOR UPDATE)
        """;

    // The fence of every write by a lease holder: the lease is the shard's current one and unexpired.
    private const string Fence = """
        s.id = @shard AND s.state = 'leased' AND s.lease_id = @lease_id AND s.fencing_token = @token AND s.lease_expires_at > @now
        """;

    private const string RenewSql = $"UPDATE shards s SET lease_expires_at = @now + @lease WHERE {Fence}";

    // Counts the completion done now, or one this lease made before (a retry after a lost commit
    // acknowledgement): the second count reads the snapshot from before this statement's update.
    private const string CompleteSql = $"""
        WITH done AS (
            UPDATE shards s SET state = 'done', finished_at = @now, lease_expires_at = NULL
            WHERE {Fence}
            RETURNING s.job_id, s.index),
        recorded AS (
            INSERT INTO shard_metrics (job_id, shard, metrics, recorded_at)
            SELECT job_id, index, @metrics, @now FROM done)
        SELECT (SELECT count(*) FROM done)
             + (SELECT count(*) FROM shards WHERE id = @shard AND state = 'done' AND lease_id = @lease_id)
        """;

    // One failed attempt, from the worker or an expired lease: the error is kept, then the shard
    // waits out its backoff in the queue, or is dead-lettered once its attempts are spent.
    private const string FailAttempt = """
        state = CASE WHEN s.attempt >= s.max_attempts THEN 'dead' ELSE 'queued' END,
        not_before = CASE WHEN s.attempt >= s.max_attempts THEN s.not_before
                          ELSE @now + least(@backoff * power(2, least(s.attempt, 30)), @max_backoff) END,
        finished_at = CASE WHEN s.attempt >= s.max_attempts THEN @now END,
        errors = s.errors || jsonb_build_array(jsonb_build_object(
            'attempt', s.attempt, 'worker', s.leased_by, 'at', @now, 'message', @error)),
        lease_id = NULL, fencing_token = NULL, leased_by = NULL, lease_expires_at = NULL
        """;

    private const string FailSql = $"UPDATE shards s SET {FailAttempt} WHERE {Fence} RETURNING s.job_id, s.state";

    private const string SweepSql = $"""
        WITH expired AS (
            SELECT id FROM shards WHERE state = 'leased' AND lease_expires_at <= @now
            ORDER BY id FOR UPDATE SKIP LOCKED)
        UPDATE shards s SET {FailAttempt}
        FROM expired e WHERE s.id = e.id
        RETURNING s.job_id, s.state
        """;

    private const string LeaseExpiredError = "lease expired";

    // A stopping worker hands its shard back: queued again at once, the attempt not counted, and
    // idle workers woken as for a new shard.
    private const string ReleaseSql = $"""
        WITH released AS (
            UPDATE shards s SET state = 'queued', attempt = s.attempt - 1, not_before = @now,
                lease_id = NULL, fencing_token = NULL, leased_by = NULL, lease_expires_at = NULL
            WHERE {Fence}
            RETURNING s.model_key)
        SELECT pg_notify('{ShardChannel}', model_key) FROM released
        """;

    /// <summary>
    /// Leases up to <paramref name="count"/> claimable shards to the worker, highest priority
    /// (lowest value) and oldest first, among the models it registered and <paramref name="models"/>.
    /// Concurrent claims never return the same shard. Each lease counts as an attempt.
    /// </summary>
    public Task<IReadOnlyList<ShardLease>> ClaimShardsAsync(
        Guid workerId, HostedModels models, int count, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(models);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(leaseDuration, TimeSpan.Zero);
        return _database.InTransactionAsync<IReadOnlyList<ShardLease>>(async (connection, transaction, ct) =>
        {
            var now = Now;
            var leases = new List<(ShardLease Lease, int Priority)>();
            await using (var claim = connection.Command(ClaimSql, transaction)
                .With("worker", workerId).With("models", models.Keys?.ToArray()).With("no_model", ModelRef.None.Key).With("count", count)
                .With("lease", leaseDuration).With("now", now))
            await using (var reader = await claim.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    leases.Add((new ShardLease(
                        reader.GetInt64(0), reader.GetGuid(1), reader.GetInt32(2), reader.GetString(3), JsonElement.Parse(reader.GetString(4)),
                        new ModelRef(reader.GetString(5), reader.GetString(6), reader.GetString(7)),
                        reader.GetInt32(8), Json.Deserialize<string[]>(reader.GetString(9)), reader.GetInt32(10), reader.GetInt32(11),
                        reader.GetGuid(12), reader.GetInt64(13), reader.GetFieldValue<DateTimeOffset>(14)), reader.GetInt32(15)));
                }
            }

            if (leases.Count > 0)
            {
                await using var start = connection.Command(StartJobsSql, transaction)
                    .With("jobs", leases.Select(l => l.Lease.JobId).Distinct().ToArray()).With("now", now);
                await start.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            return [.. leases.OrderBy(l => l.Priority).ThenBy(l => l.Lease.ShardId).Select(l => l.Lease)];
        }, cancellationToken);
    }

    /// <summary>
    /// Extends the lease to <paramref name="leaseDuration"/> from now. Returns <c>false</c> when
    /// the lease is lost (expired, taken over, or its job cancelled): the worker must stop the shard.
    /// </summary>
    public Task<bool> RenewLeaseAsync(ShardLease lease, TimeSpan leaseDuration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return _database.RunAsync(async (connection, ct) =>
        {
            await using var command = Fenced(connection.Command(RenewSql), lease, Now).With("lease", leaseDuration);
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
        }, cancellationToken);
    }

    /// <summary>
    /// Marks the shard done and records its metrics, once, if <paramref name="lease"/> still holds
    /// it; finishes the job when it was its last open shard. Returns <c>false</c>, writing nothing,
    /// when the lease was lost.
    /// </summary>
    public Task<bool> CompleteShardAsync(ShardLease lease, JsonObject metrics, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(metrics);
        var metricsJson = metrics.ToJsonString();
        return _database.InTransactionAsync(async (connection, transaction, ct) =>
        {
            var now = Now;
            await using var command = Fenced(connection.Command(CompleteSql, transaction), lease, now).WithJson("metrics", metricsJson);
            if ((long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))! == 0)
            {
                return false;
            }

            await FinishJobsAsync(connection, transaction, [lease.JobId], now, ct).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// Records the worker's error for this attempt and gives the shard back: re-queued after its
    /// backoff, or dead-lettered when its attempts are spent. Returns <c>false</c>, writing nothing,
    /// when the lease was lost.
    /// </summary>
    public Task<bool> FailShardAsync(ShardLease lease, string message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(message);
        return _database.InTransactionAsync(async (connection, transaction, ct) =>
        {
            var now = Now;
            await using var command = WithBackoff(Fenced(connection.Command(FailSql, transaction), lease, now)).With("error", message);
            var (failed, _, deadJobs) = await ReadFailuresAsync(command, ct).ConfigureAwait(false);
            await FinishJobsAsync(connection, transaction, deadJobs, now, ct).ConfigureAwait(false);
            return failed == 1;
        }, cancellationToken);
    }

    /// <summary>
    /// Hands a leased shard back unfinished, as a stopping worker does: queued again at once for any
    /// worker, without counting the attempt or recording an error. What the holder wrote stays; the
    /// next holder writes the shard's records. Returns <c>false</c> when the lease was lost.
    /// </summary>
    public Task<bool> ReleaseShardAsync(ShardLease lease, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lease);
        return _database.InTransactionAsync(async (connection, transaction, ct) =>
        {
            await using var command = Fenced(connection.Command(ReleaseSql, transaction), lease, Now);
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return await reader.ReadAsync(ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>
    /// Takes back every lease that expired by now: the shard is re-queued after its backoff, or
    /// dead-lettered with its errors kept when its attempts are spent. Also marks workers lost whose
    /// heartbeats stopped. Safe to run from several coordinators at once.
    /// </summary>
    public Task<SweepResult> SweepExpiredAsync(CancellationToken cancellationToken = default) =>
        _database.InTransactionAsync(async (connection, transaction, ct) =>
        {
            var now = Now;
            await using var command = WithBackoff(connection.Command(SweepSql, transaction))
                .With("now", now).With("error", LeaseExpiredError);
            var (expired, dead, deadJobs) = await ReadFailuresAsync(command, ct).ConfigureAwait(false);
            var finishedJobs = await FinishJobsAsync(connection, transaction, deadJobs, now, ct).ConfigureAwait(false);
            var lostWorkers = await MarkLostWorkersAsync(connection, transaction, now, ct).ConfigureAwait(false);
            return new SweepResult(expired - dead, dead, finishedJobs, lostWorkers);
        }, cancellationToken);

    private static NpgsqlCommand Fenced(NpgsqlCommand command, ShardLease lease, DateTimeOffset now) =>
        command.With("shard", lease.ShardId).With("lease_id", lease.LeaseId).With("token", lease.FencingToken).With("now", now);

    private NpgsqlCommand WithBackoff(NpgsqlCommand command) =>
        command.With("backoff", _options.RetryBackoff).With("max_backoff", _options.MaxRetryBackoff);

    /// <summary>Reads (job, new state) rows: how many shards failed, how many died, and the jobs of those.</summary>
    private static async Task<(int Failed, int Dead, Guid[] DeadJobs)> ReadFailuresAsync(NpgsqlCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var failed = 0;
        var dead = 0;
        var deadJobs = new HashSet<Guid>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            failed++;
            if (reader.GetString(1) == "dead")
            {
                dead++;
                deadJobs.Add(reader.GetGuid(0));
            }
        }

        return (failed, dead, [.. deadJobs]);
    }
}
