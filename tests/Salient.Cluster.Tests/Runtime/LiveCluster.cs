using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Salient.Client;
using Salient.Storage;

namespace Salient.Cluster.Tests.Runtime;

/// <summary>
/// A real cluster for the runtime tests, started by deploy/cluster.sh as users start it: PostgreSQL,
/// Azurite, a coordinator and three worker
/// processes — two pinned to model <c>resnet</c>, one to <c>resnet-b</c> — with 3 s leases and
/// short backoffs so faults resolve within seconds.
/// </summary>
public sealed class LiveCluster : IAsyncLifetime
{
    public const string ApiKey = "test-key";
    private static readonly string Script = Fixtures.Path("..", "..", "deploy", "cluster.sh");
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "salient-cluster-tests-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly int _port = FreePortBlock();
    private Dictionary<string, string> _env = [];

    public SalientClient Client { get; private set; } = null!;

    public IBlobStore Blobs { get; private set; } = null!;

    public ClusterStore Store { get; private set; } = null!;

    public string Database => _env["SALIENT_DB"];

    public static string Salient { get; } = Path.Combine(Fixtures.Path("..", "..", "src", "Salient.Cli", "bin"),
        AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug", "net10.0", "salient.dll");

    public async Task InitializeAsync()
    {
        await RunAsync("bash", [Script, "start", "--workers", "3", "--dir", _dir, "--port", Port(0), "--blob", "azurite", "--models", "resnet;resnet;resnet-b",
            "--api-key", ApiKey, "--salient", Salient]);
        _env = File.ReadAllLines(Path.Combine(_dir, "env")).Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1].Trim('\'').Replace("\\;", ";", StringComparison.Ordinal).Replace("\\ ", " ", StringComparison.Ordinal));
        Client = new SalientClient(new Uri(_env["SALIENT_COORDINATOR"]), ApiKey);
        Blobs = BlobStore.Open(_env["SALIENT_BLOB"]);
        Store = ClusterStore.Create(Database);
        await using (var model = File.OpenRead(Fixtures.Path("models", "resnet_basic.onnx")))
        await using (var card = File.OpenRead(Fixtures.Path("models", "resnet_basic.json")))
        {
            await Client.UploadModelAsync("resnet", model, card);
        }

        await using (var model = File.OpenRead(Fixtures.Path("models", "resnet_basic.onnx")))
        await using (var card = File.OpenRead(Fixtures.Path("models", "resnet_basic.json")))
        {
            await Client.UploadModelAsync("resnet-b", model, card);
        }
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Store.DisposeAsync();
        await RunAsync("bash", [Script, "stop", "--dir", _dir, "--port", Port(0)], check: false);
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Copies the fixture images under <paramref name="prefix"/> until there are <paramref name="count"/> items; returns their names.</summary>
    public async Task<List<string>> UploadImagesAsync(string prefix, int count)
    {
        var images = Directory.GetFiles(Fixtures.Path("images")).Where(f => f.EndsWith(".jpg", StringComparison.Ordinal) || f.EndsWith(".png", StringComparison.Ordinal)).Order().ToArray();
        var names = Enumerable.Range(0, count).Select(i => $"{prefix}{i:D4}{Path.GetExtension(images[i % images.Length])}").ToList();
        await Parallel.ForEachAsync(Enumerable.Range(0, count), async (i, ct) =>
            await Blobs.PutAsync(names[i], await File.ReadAllBytesAsync(images[i % images.Length], ct), null, overwrite: true, ct));
        return names;
    }

    /// <summary>Waits for the job to finish (through the SDK's event stream) and returns it.</summary>
    public async Task<Job> FinishAsync(Guid id, TimeSpan? limit = null)
    {
        using var timeout = new CancellationTokenSource(limit ?? TimeSpan.FromSeconds(90));
        Job? last = null;
        await foreach (var job in Client.WatchJobAsync(id, timeout.Token))
        {
            last = job;
        }

        // The coordinator writes the manifest a sweep after the job finishes.
        while (!await Blobs.ExistsAsync(BlobLayout.Manifest(id), timeout.Token))
        {
            await Task.Delay(200, timeout.Token);
        }

        return last!;
    }

    /// <summary>The pid of a process the script started (coordinator, worker1...).</summary>
    public int Pid(string name) => int.Parse(File.ReadAllText(Path.Combine(_dir, name + ".pid")).Trim(), CultureInfo.InvariantCulture);

    /// <summary>Kills a process at once (SIGKILL), as a crash would.</summary>
    public void Kill(string name) => Process.GetProcessById(Pid(name)).Kill();

    /// <summary>Stops the coordinator with SIGTERM and starts it again on the same address.</summary>
    public async Task RestartCoordinatorAsync()
    {
        var pid = Pid("coordinator");
        await RunAsync("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)]);
        using (var process = Process.GetProcessById(pid))
        {
            await process.WaitForExitAsync();
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = false, RedirectStandardError = false, UseShellExecute = false };
        foreach (var argument in new[] { Salient, "serve", "--role", "coordinator", "--db", Database, "--blob", _env["SALIENT_BLOB"], "--listen", _env["SALIENT_COORDINATOR"] })
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["SALIENT_API_KEYS"] = ApiKey;
        var coordinator = Process.Start(start)!;
        await File.WriteAllTextAsync(Path.Combine(_dir, "coordinator.pid"), coordinator.Id.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>Restarts PostgreSQL (fast shutdown: every connection is cut).</summary>
    public Task RestartPostgresAsync() =>
        RunAsync("bash", [Fixtures.Path("..", "..", "deploy", "postgres.sh"), "restart", "--dir", Path.Combine(_dir, "postgres"), "--port", Port(1)]);

    private string Port(int offset) => (_port + offset).ToString(CultureInfo.InvariantCulture);

    private static async Task<int> RunAsync(string file, string[] arguments, bool check = true)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["SALIENT_LEASE_SECONDS"] = "3";
        start.Environment["SALIENT_RETRY_BACKOFF_SECONDS"] = "0.2";
        start.Environment["SALIENT_POLL_SECONDS"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        if (check && process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited {process.ExitCode}:\n{await output}\n{await errors}");
        }

        return process.ExitCode;
    }

    /// <summary>A port whose next 20 neighbours are free too (the script uses port + 1, + 2 and + 11...).</summary>
    private static int FreePortBlock()
    {
        while (true)
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            if (port < 60000 && Enumerable.Range(port, 20).All(IsFree))
            {
                return port;
            }
        }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class LiveClusterGroup : ICollectionFixture<LiveCluster>
{
    public const string Name = "Live cluster";
}
