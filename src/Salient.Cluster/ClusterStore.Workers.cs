using Salient.Cluster.Internal;
using Npgsql;

namespace Salient.Cluster;

// Workers: registration with their devices and models, heartbeats, and the lost-worker mark.
public sealed partial class ClusterStore
{
    private const string RegisterWorkerSql = """
        INSERT INTO workers (id, name, devices, models, capacity, state, registered_at, heartbeat_at)
        VALUES (@id, @name, @devices, @models, @capacity, 'active', @now, @now)
        ON CONFLICT (id) DO NOTHING
        """;

    private const string HeartbeatSql = "UPDATE workers SET heartbeat_at = @now, state = 'active' WHERE id = @id";

    private const string ListWorkersSql = """
        SELECT id, name, devices, models, capacity, state, registered_at, heartbeat_at FROM workers ORDER BY name, id
        """;

    private const string MarkLostWorkersSql =
        "UPDATE workers SET state = 'lost' WHERE state = 'active' AND heartbeat_at <= @now - @timeout";

    /// <summary>Registers a worker with the devices and models it declares; returns its id.</summary>
    public Task<Guid> RegisterWorkerAsync(WorkerRegistration registration, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ArgumentOutOfRangeException.ThrowIfLessThan(registration.Capacity, 1, nameof(registration.Capacity));
        var id = Guid.CreateVersion7();
        var devices = Json.Serialize(registration.Devices);
        return _database.RunAsync(async (connection, ct) =>
        {
            await using var command = connection.Command(RegisterWorkerSql)
                .With("id", id).With("name", registration.Name).WithJson("devices", devices)
                .With("models", registration.Models.Keys?.ToArray()).With("capacity", registration.Capacity).With("now", Now);
            await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            return id;
        }, cancellationToken);
    }

    /// <summary>Records that the worker is alive; <c>false</c> when no such worker is registered.</summary>
    public Task<bool> HeartbeatWorkerAsync(Guid workerId, CancellationToken cancellationToken = default) =>
        _database.RunAsync(async (connection, ct) =>
        {
            await using var command = connection.Command(HeartbeatSql).With("id", workerId).With("now", Now);
            return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false) == 1;
        }, cancellationToken);

    /// <summary>Every registered worker, by name.</summary>
    public Task<IReadOnlyList<WorkerInfo>> ListWorkersAsync(CancellationToken cancellationToken = default) =>
        _database.RunAsync<IReadOnlyList<WorkerInfo>>(async (connection, ct) =>
        {
            await using var command = connection.Command(ListWorkersSql);
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            var workers = new List<WorkerInfo>();
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                workers.Add(new WorkerInfo(
                    reader.GetGuid(0), reader.GetString(1), Json.Deserialize<DeviceInfo[]>(reader.GetString(2)),
                    reader.IsDBNull(3) ? HostedModels.Any : HostedModels.Only(reader.GetFieldValue<string[]>(3)),
                    reader.GetInt32(4), DbStates.Worker(reader.GetString(5)),
                    reader.GetFieldValue<DateTimeOffset>(6), reader.GetFieldValue<DateTimeOffset>(7)));
            }

            return workers;
        }, cancellationToken);

    private async Task<int> MarkLostWorkersAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DateTimeOffset now, CancellationToken ct)
    {
        await using var command = connection.Command(MarkLostWorkersSql, transaction).With("now", now).With("timeout", _options.WorkerTimeout);
        return await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }
}
