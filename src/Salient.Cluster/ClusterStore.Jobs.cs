using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using Salient.Cluster.Internal;

namespace Salient.Cluster;

// Jobs: creation with their shards, reading, cancelling, and the job end once no shard is open.
public sealed partial class ClusterStore
{
    private const string InsertJobSql = """
        INSERT INTO jobs (id, kind, spec, model_key, model_uri, model_sha256, state, priority, max_attempts,
                          total_shards, total_items, created_at, updated_at)
        VALUES (@id, @kind, @spec, @model_key, @model_uri, @model_sha256, 'queued', @priority, @max_attempts,
                @total_shards, @total_items, @now, @now)
        ON CONFLICT (id) DO NOTHING
        """;

    // Shard ids follow shard order, so that claims (ORDER BY priority, id) take a job's shards in order.
    private const string InsertShardsSql = $"""
        INSERT INTO shards (job_id, index, first_item, items, model_key, priority, state, max_attempts, not_before)
        SELECT @id, t.ordinal - 1, t.first_item, t.items, @model_key, @priority, 'queued', @max_attempts, @now
        FROM unnest(@first_items::integer[], @items::jsonb[]) WITH ORDINALITY AS t (first_item, items, ordinal)
        ORDER BY t.ordinal;
        SELECT pg_notify('{ShardChannel}', @model_key);
        """;

    private const string SelectJobsSql = """
        SELECT j.id, j.kind, j.spec, j.model_key, j.model_uri, j.model_sha256, j.state, j.priority, j.max_attempts,
               j.total_shards, j.total_items, j.metrics, j.error, j.created_at, j.updated_at, j.finished_at,
               c.queued, c.leased, c.done, c.dead, c.cancelled
        FROM jobs j CROSS JOIN LATERAL (
            SELECT count(*) FILTER (WHERE s.state = 'queued')::integer AS queued,
                   count(*) FILTER (WHERE s.state = 'leased')::integer AS leased,
                   count(*) FILTER (WHERE s.state = 'done')::integer AS done,
                   count(*) FILTER (WHERE s.state = 'dead')::integer AS dead,
                   count(*) FILTER (WHERE s.state = 'cancelled')::integer AS cancelled
            FROM shards s WHERE s.job_id = j.id) c
        """;

    private const string GetJobSql = SelectJobsSql + " WHERE j.id = @id";

    private const string ListJobsSql = SelectJobsSql + """
         WHERE @state::text IS NULL OR j.state = @state
        ORDER BY j.created_at DESC, j.id
        LIMIT @limit
        """;

    private const string ListShardsSql = """
        SELECT job_id, index, first_item, items, state, attempt, max_attempts, leased_by, lease_expires_at, not_before, errors
        FROM shards WHERE job_id = @id ORDER BY index
        """;

    private const string ShardMetricsSql = "SELECT shard, metrics FROM shard_metrics WHERE job_id = @id ORDER BY shard";

    // Shards first, then the job: every transaction that touches both locks them in this order.
    private const string CancelShardsSql =
        "UPDATE shards SET state = 'cancelled', finished_at = @now WHERE job_id = @id AND state IN ('queued', 'leased')";

    private const string CancelJobSql = """
        UPDATE jobs SET state = 'cancelled', updated_at = @now, finished_at = @now
        WHERE id = @id AND state IN ('queued', 'running')
        """;

    // Two statements: the second reads the shards after the first has locked the jobs (in id
    // order), so it sees every shard update committed by concurrent transactions on those jobs.
    private const string FinishJobsSql = """
        SELECT id FROM jobs WHERE id = ANY(@jobs) ORDER BY id FOR UPDATE;
        UPDATE jobs j
        SET state = CASE WHEN c.dead > 0 THEN 'failed' ELSE 'succeeded' END,
            error = CASE WHEN c.dead > 0 THEN format('%s of %s shards dead-lettered', c.dead, j.total_shards) END,
            updated_at = @now, finished_at = @now
        FROM (SELECT job_id, count(*) FILTER (WHERE state = 'dead') AS dead
              FROM shards WHERE job_id = ANY(@jobs)
              GROUP BY job_id
              HAVING count(*) FILTER (WHERE state IN ('queued', 'leased')) = 0) c
        WHERE j.id = c.job_id AND j.state IN ('queued', 'running')
        RETURNING j.id;
        """;

    private const string SetJobMetricsSql = "UPDATE jobs SET metrics = @metrics WHERE id = @id";

    /// <summary>
    /// Creates a job and its shards in one transaction and wakes idle workers. Creating an id that
    /// exists already changes nothing. Returns the job's id.
    /// </summary>
    public Task<Guid> CreateJobAsync(JobRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Validate();

        var id = request.Id ?? Guid.CreateVersion7();
        var chunks = request.Items.Chunk(request.ShardSize).ToArray();
        var firstItems = Enumerable.Range(0, chunks.Length).Select(i => i * request.ShardSize).ToArray();
        var items = chunks.Select(Json.Serialize).ToArray();
        return _database.InTransactionAsync(async (connection, transaction, ct) =>
        {
            var now = Now;
            await using var insertJob = connection.Command(InsertJobSql, transaction)
                .With("id", id).With("kind", request.Kind).WithJson("spec", request.Spec.GetRawText())
                .With("model_key", request.Model.Key).With("model_uri", request.Model.Uri).With("model_sha256", request.Model.Sha256)
                .With("priority", request.Priority).With("max_attempts", request.MaxAttempts)
                .With("total_shards", chunks.Length).With("total_items", request.Items.Count).With("now", now);
            if (await insertJob.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 0)
            {
                return id;
            }

            await using var insertShards = connection.Command(InsertShardsSql, transaction)
                .With("id", id).With("first_items", firstItems).WithJsonArray("items", items)
                .With("model_key", request.Model.Key).With("priority", request.Priority)
                .With("max_attempts", request.MaxAttempts).With("now", now);
            await insertShards.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return id;
        }, cancellationToken);
    }

    /// <summary>The job with its shard counts, or <c>null</c> when there is none with this id.</summary>
    public async Task<JobInfo?> GetJobAsync(Guid jobId, CancellationToken cancellationToken = default)
    {
        var jobs = await _database.RunAsync(async (connection, ct) =>
        {
            await using var command = connection.Command(GetJobSql).With("id", jobId);
            return await ReadJobsAsync(command, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        return jobs.Count == 0 ? null : jobs[0];
    }

    /// <summary>The newest jobs first, optionally only those in <paramref name="state"/>.</summary>
    public Task<IReadOnlyList<JobInfo>> ListJobsAsync(JobState? state = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        return _database.RunAsync(async (connection, ct) =>
        {
            await using var command = connection.Command(ListJobsSql)
                .With("state", state is { } s ? DbStates.Of(s) : null).With("limit", limit);
            return await ReadJobsAsync(command, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    /// <summary>The job's shards in index order, with their attempts and errors.</summary>
    public Task<IReadOnlyList<ShardInfo>> ListShardsAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        _database.RunAsync<IReadOnlyList<ShardInfo>>(async (connection, ct) =>
        {
            await using var command = connection.Command(ListShardsSql).With("id", jobId);
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            var shards = new List<ShardInfo>();
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                shards.Add(new ShardInfo(
                    reader.GetGuid(0), reader.GetInt32(1), reader.GetInt32(2), Json.Deserialize<string[]>(reader.GetString(3)),
                    DbStates.Shard(reader.GetString(4)), reader.GetInt32(5), reader.GetInt32(6),
                    reader.IsDBNull(7) ? null : reader.GetGuid(7),
                    reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8),
                    reader.GetFieldValue<DateTimeOffset>(9),
                    Json.Deserialize<ShardError[]>(reader.GetString(10))));
            }

            return shards;
        }, cancellationToken);

    /// <summary>The metrics of the job's completed shards, in shard order.</summary>
    public Task<IReadOnlyList<ShardMetrics>> GetShardMetricsAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        _database.RunAsync((connection, ct) => ReadShardMetricsAsync(connection, null, jobId, ct), cancellationToken);

    /// <summary>
    /// Cancels a job that has not finished: its queued and leased shards are cancelled, so the
    /// workers holding leases learn it at their next renewal. Returns whether this call cancelled it.
    /// </summary>
    public Task<bool> CancelJobAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        _database.InTransactionAsync(async (connection, transaction, ct) =>
        {
            var now = Now;
            await using var shards = connection.Command(CancelShardsSql, transaction).With("id", jobId).With("now", now);
            await shards.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            await using var job = connection.Command(CancelJobSql, transaction).With("id", jobId).With("now", now);
            return await job.ExecuteNonQueryAsync(ct).ConfigureAwait(false) > 0;
        }, cancellationToken);

    /// <summary>
    /// Ends the jobs among <paramref name="jobIds"/> whose shards have all finished, and stores
    /// their merged metrics. Runs inside the transaction that finished the shards.
    /// </summary>
    private async Task<int> FinishJobsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid[] jobIds, DateTimeOffset now, CancellationToken ct)
    {
        if (jobIds.Length == 0)
        {
            return 0;
        }

        var finished = new List<Guid>();
        await using (var command = connection.Command(FinishJobsSql, transaction).With("jobs", jobIds).With("now", now))
        await using (var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false))
        {
            await reader.NextResultAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                finished.Add(reader.GetGuid(0));
            }
        }

        foreach (var jobId in finished)
        {
            var metrics = _options.MetricsMerger.Merge(await ReadShardMetricsAsync(connection, transaction, jobId, ct).ConfigureAwait(false));
            await using var update = connection.Command(SetJobMetricsSql, transaction)
                .With("id", jobId).WithJson("metrics", metrics.ToJsonString());
            await update.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }

        return finished.Count;
    }

    private static async Task<IReadOnlyList<ShardMetrics>> ReadShardMetricsAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid jobId, CancellationToken ct)
    {
        await using var command = connection.Command(ShardMetricsSql, transaction).With("id", jobId);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var metrics = new List<ShardMetrics>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            metrics.Add(new ShardMetrics(reader.GetInt32(0), JsonNode.Parse(reader.GetString(1))!.AsObject()));
        }

        return metrics;
    }

    private static async Task<IReadOnlyList<JobInfo>> ReadJobsAsync(NpgsqlCommand command, CancellationToken ct)
    {
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        var jobs = new List<JobInfo>();
        while (await reader.ReadAsync(ct).ConfigureAwait(false))
        {
            jobs.Add(new JobInfo(
                reader.GetGuid(0), reader.GetString(1), JsonElement.Parse(reader.GetString(2)),
                new ModelRef(reader.GetString(3), reader.GetString(4), reader.GetString(5)),
                DbStates.Job(reader.GetString(6)), reader.GetInt32(7), reader.GetInt32(8), reader.GetInt32(9), reader.GetInt32(10),
                new JobProgress(reader.GetInt32(16), reader.GetInt32(17), reader.GetInt32(18), reader.GetInt32(19), reader.GetInt32(20)),
                reader.IsDBNull(11) ? null : JsonNode.Parse(reader.GetString(11))!.AsObject(),
                reader.IsDBNull(12) ? null : reader.GetString(12),
                reader.GetFieldValue<DateTimeOffset>(13), reader.GetFieldValue<DateTimeOffset>(14),
                reader.IsDBNull(15) ? null : reader.GetFieldValue<DateTimeOffset>(15)));
        }

        return jobs;
    }
}
