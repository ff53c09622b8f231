using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Salient.Storage.Tests;

/// <summary>
/// A real Azurite blob service for the tests of one collection or class: started through
/// deploy/azurite.sh (which installs it on first use) on a free loopback port with a fresh data
/// folder, stopped and removed at the end. Fault tests kill it and start it again on the same data.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private readonly string _script = Path.GetFullPath(Fixtures.Path("..", "..", "deploy", "azurite.sh"));
    private readonly string _dataFolder = Path.Combine(Path.GetTempPath(), "salient-azurite-" + Guid.NewGuid().ToString("N"));

    public int Port { get; } = FreePort();

    /// <summary>The development account's endpoint, path-style as Azurite serves it.</summary>
    public string BlobEndpoint => $"http://127.0.0.1:{Port}/{Internal.AzureContainerAddress.DevelopmentAccount}";

    /// <summary>A connection string for <paramref name="container"/> with the development account's key.</summary>
    public string ConnectionString(string container) =>
        $"DefaultEndpointsProtocol=http;AccountName={Internal.AzureContainerAddress.DevelopmentAccount};AccountKey={Internal.AzureContainerAddress.DevelopmentKey};BlobEndpoint={BlobEndpoint};Container={container}";

    public async Task InitializeAsync() => await StartAsync();

    /// <summary>Starts Azurite (again, after <see cref="Kill"/>) on the same port and data folder.</summary>
    public Task StartAsync() => RunScriptAsync("start", TimeSpan.FromMinutes(5));

    /// <summary>Kills Azurite with SIGKILL, as a crash would: no chance to finish requests or save anything.</summary>
    public void Kill()
    {
        var pid = int.Parse(File.ReadAllText(Path.Combine(_dataFolder, "azurite.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.GetProcessById(pid);
        process.Kill();
        process.WaitForExit();
    }

    public async Task DisposeAsync()
    {
        await RunScriptAsync("stop", TimeSpan.FromMinutes(1));
        Directory.Delete(_dataFolder, recursive: true);
    }

    private async Task RunScriptAsync(string command, TimeSpan limit)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { _script, command, "--dir", _dataFolder, "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"deploy/azurite.sh {command} exited with {process.ExitCode}:\n{await output}\n{await errors}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

[CollectionDefinition(Name)]
public sealed class AzuriteTestGroup : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
