using System.Globalization;
using System.Reflection;
using Npgsql;

namespace Salient.Cluster.Internal;

/// <summary>
/// Applies the embedded <c>Migrations/NNNN_name.sql</c> scripts that the database lacks, in version
/// order, in one transaction under an advisory lock: coordinators starting together apply each
/// script once, and a failed script leaves the schema as it was.
/// </summary>
public static class Migrator
{
    private const string ResourcePrefix = "Salient.Cluster.Migrations.";

    // Any fixed 64-bit number; it only has to differ from other advisory locks on the database.
    private const long LockKey = 0x5A11E47_C1057E2;

    private const string PrepareSql = """
        SELECT pg_advisory_xact_lock(@lock);
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version     integer PRIMARY KEY,
            name        text NOT NULL,
            applied_at  timestamptz NOT NULL DEFAULT now()
        );
        """;

    private const string AppliedSql = "SELECT version FROM schema_migrations";

    private const string RecordSql = "INSERT INTO schema_migrations (version, name) VALUES (@version, @name)";

    public static IReadOnlyList<(int Version, string Name, string Sql)> Scripts { get; } = Load();

    /// <summary>Applies the missing scripts and returns how many it applied.</summary>
    public static Task<int> MigrateAsync(Database database, CancellationToken cancellationToken) =>
        database.InTransactionAsync(async (connection, transaction, ct) =>
        {
            await using (var prepare = connection.Command(PrepareSql, transaction).With("lock", LockKey))
            {
                await prepare.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
            }

            var applied = new HashSet<int>();
            await using (var read = connection.Command(AppliedSql, transaction))
            await using (var reader = await read.ExecuteReaderAsync(ct).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    applied.Add(reader.GetInt32(0));
                }
            }

            var count = 0;
            foreach (var (version, name, sql) in Scripts.Where(s => !applied.Contains(s.Version)))
            {
                await using var apply = connection.Command(sql, transaction);
                await apply.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                await using var record = connection.Command(RecordSql, transaction).With("version", version).With("name", name);
                await record.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                count++;
            }

            return count;
        }, cancellationToken);

    private static List<(int, string, string)> Load()
    {
        var assembly = typeof(Migrator).Assembly;
        return [.. assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            .Select(n =>
            {
                var name = n[ResourcePrefix.Length..^".sql".Length];
                var version = int.Parse(name.AsSpan(0, name.IndexOf('_', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
                return (version, name, Read(assembly, n));
            })
            .OrderBy(s => s.version)];
    }

    private static string Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Missing embedded migration {resource}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
