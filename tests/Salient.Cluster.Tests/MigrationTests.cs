using Npgsql;
using Salient.Cluster.Internal;

namespace Salient.Cluster.Tests;

public sealed class MigrationTests(PostgresServer server) : StoreTests(server)
{
    [Fact]
    public async Task Migrating_a_migrated_database_applies_nothing()
    {
        Assert.Equal(0, await Store.MigrateAsync());
        Assert.Equal(Migrator.Scripts.Count, await CountAsync(ConnectionString, "SELECT count(*) FROM schema_migrations"));
    }

    [Fact]
    public async Task Coordinators_starting_together_apply_each_migration_once()
    {
        var connectionString = await Server.CreateDatabaseAsync();
        var stores = Enumerable.Range(0, 4).Select(_ => ClusterStore.Create(connectionString)).ToArray();
        try
        {
            var applied = await Task.WhenAll(stores.Select(s => s.MigrateAsync()));

            Assert.Equal(Migrator.Scripts.Count, applied.Sum());
            Assert.Equal(Migrator.Scripts.Count, await CountAsync(connectionString, "SELECT count(*) FROM schema_migrations"));
            Assert.Equal(4, await CountAsync(connectionString,
                "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('jobs', 'shards', 'workers', 'shard_metrics')"));
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    private static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await using var command = dataSource.CreateCommand(sql);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
