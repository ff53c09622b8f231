using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Salient.Cluster.Tests;

/// <summary>
/// One throwaway PostgreSQL for the test run, started on a free port through deploy/postgres.sh
/// (as CI and developers start it), stopped and removed at the end.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private static readonly string Script = Fixtures.Path("..", "..", "deploy", "postgres.sh");
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "salient-pg-tests-" + Guid.NewGuid().ToString("N")[..8]);
    private int _port;

    /// <summary>The connection string of the server's default database.</summary>
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _port = FreePort();
        var output = await RunScriptAsync("start");
        ConnectionString = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
    }

    public Task DisposeAsync() => RunScriptAsync("stop");

    /// <summary>Restarts the server (fast shutdown: every open connection is cut).</summary>
    public Task RestartAsync() => RunScriptAsync("restart");

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "test_" + Guid.NewGuid().ToString("N");
        await using (var admin = NpgsqlDataSource.Create(ConnectionString))
        await using (var command = admin.CreateCommand($"CREATE DATABASE {name}"))
        {
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    private async Task<string> RunScriptAsync(string command)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Script, command, "--dir", _dir, "--port", _port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"postgres.sh {command} exited {process.ExitCode}: {await stderr}");
        }

        return await stdout;
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}

/// <summary>Every class that uses the server runs in this collection, one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class SharedPostgres : ICollectionFixture<PostgresServer>
{
    public const string Name = "PostgreSQL";
}
