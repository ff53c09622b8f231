using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Salient.Client;
using Salient.Cluster;
using Salient.Storage;

namespace Salient.Tests;

/// <summary>
/// A real cluster started by deploy/cluster.sh as users start it, in a temporary folder on a free
/// block of loopback ports: Azurite (the silos' membership, grain state and reminders), a blob store, a
/// coordinator silo and worker silos, each a `salient serve` process, with 3 s leases and short backoffs
/// so that faults resolve within seconds. Compiled into the test projects that drive one (cluster
/// runtime, dashboard).
/// </summary>
/// <param name="workers">Worker processes.</param>
/// <param name="blob"><c>azurite</c> or <c>folder</c>.</param>
/// <param name="models">Each worker's <c>--models</c>, <c>;</c>-separated (the last repeats).</param>
public abstract class ScriptedCluster(int workers, string blob, string models) : IAsyncLifetime
{
    public const string ApiKey = "test-key";
    private static readonly string Script = Fixtures.Path("..", "..", "deploy", "cluster.sh");

    /// <summary>The environment of every process the tests start: short leases and backoffs, the API key.</summary>
    private static readonly Dictionary<string, string> FastSettings = new()
    {
        ["SALIENT_LEASE_SECONDS"] = "3",
        ["SALIENT_RETRY_BACKOFF_SECONDS"] = "0.2",
        ["SALIENT_API_KEYS"] = ApiKey,
    };

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "salient-cluster-tests-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly int _port = FreePortBlock();
    private Dictionary<string, string> _env = [];

    public SalientClient Client { get; private set; } = null!;

    public IBlobStore Blobs { get; private set; } = null!;

    /// <summary>The coordinator's base address.</summary>
    public Uri Coordinator => Client.BaseUri;

    /// <summary>The Azure Storage connection string of the silos' membership, grain state and reminders (Azurite).</summary>
    public string Storage => _env["SALIENT_STORAGE"];

    /// <summary>The blob store as the processes were given it (<c>--blob</c>).</summary>
    public string BlobLocation => _env["SALIENT_BLOB"];

    /// <summary>The salient.dll of this build's configuration.</summary>
    public static string Salient { get; } = Path.Combine(Fixtures.Path("..", "..", "src", "Salient.Cli", "bin"),
        AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug", "net10.0", "salient.dll");

    public virtual async Task InitializeAsync()
    {
        await RunAsync("bash", [Script, "start", "--workers", workers.ToString(CultureInfo.InvariantCulture), "--dir", _dir, "--port", Port(0), "--blob", blob,
            "--models", models, "--api-key", ApiKey, "--salient", Salient]);
        _env = File.ReadAllLines(Path.Combine(_dir, "env")).Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1].Trim('\'').Replace("\\;", ";", StringComparison.Ordinal).Replace("\\ ", " ", StringComparison.Ordinal));
        Client = new SalientClient(new Uri(_env["SALIENT_COORDINATOR"]), ApiKey);
        Blobs = BlobStore.Open(BlobLocation);
    }

    public virtual async Task DisposeAsync()
    {
        Client?.Dispose();
        await RunAsync("bash", [Script, "stop", "--dir", _dir, "--port", Port(0)], check: false);
        Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Registers the fixture model <c>resnet_basic</c> (with its card) under <paramref name="key"/>.</summary>
    public async Task UploadModelAsync(string key)
    {
        await using var model = File.OpenRead(Fixtures.Path("models", "resnet_basic.onnx"));
        await using var card = File.OpenRead(Fixtures.Path("models", "resnet_basic.json"));
        await Client.UploadModelAsync(key, model, card);
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

    /// <summary>Waits for the job to finish (through the SDK's event stream) and for its manifest; returns the job.</summary>
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

    /// <summary>Sends SIGTERM, as Kubernetes and deploy/cluster.sh stop a process.</summary>
    public static Task TerminateAsync(int pid) => RunAsync("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)]);

    /// <summary>Kills the coordinator (SIGKILL) and starts it again as it was started; ready on return.</summary>
    public async Task KillAndRestartCoordinatorAsync()
    {
        using var coordinator = Process.GetProcessById(Pid("coordinator"));
        coordinator.Kill();
        await coordinator.WaitForExitAsync();
        await StartCoordinatorAsync();
    }

    /// <summary><c>deploy/cluster.sh restart NAME</c>: one process stopped (SIGTERM) and started as it was, ready on return.</summary>
    public Task RestartProcessAsync(string name) => RunAsync("bash", [Script, "restart", name, "--dir", _dir]);

    /// <summary>Stops the coordinator with SIGTERM and waits until it has exited (within a minute).</summary>
    public async Task StopCoordinatorAsync()
    {
        var pid = Pid("coordinator");
        await TerminateAsync(pid);
        using var process = Process.GetProcessById(pid);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await process.WaitForExitAsync(timeout.Token);
    }

    /// <summary>Starts the coordinator again with the arguments deploy/cluster.sh gave it (after it stopped); ready on return.</summary>
    public async Task StartCoordinatorAsync()
    {
        // DIR/coordinator.args: salient.dll, then the serve arguments, each ended by NUL.
        var arguments = File.ReadAllText(Path.Combine(_dir, "coordinator.args")).Split('\0', StringSplitOptions.RemoveEmptyEntries)[1..];
        using var coordinator = Serve("coordinator", arguments);
        File.WriteAllText(Path.Combine(_dir, "coordinator.pid"), coordinator.Id.ToString(CultureInfo.InvariantCulture));
        await WaitReadyAsync(coordinator, "coordinator", Coordinator);
    }

    /// <summary>
    /// Starts <c>salient ARGS</c> against this cluster (<c>SALIENT_COORDINATOR</c> and <c>SALIENT_API_KEY</c> set),
    /// its standard output and error redirected for the caller to read.
    /// </summary>
    public Process StartCli(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])[Salient, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["SALIENT_COORDINATOR"] = _env["SALIENT_COORDINATOR"];
        start.Environment["SALIENT_API_KEY"] = ApiKey;
        return Process.Start(start)!;
    }

    /// <summary>
    /// Starts another worker silo named <paramref name="name"/> hosting <paramref name="hostedModels"/> on free ports,
    /// its output appended to <c>name.log</c> in the cluster's folder; waits until it is ready.
    /// </summary>
    public async Task<Process> StartWorkerAsync(string name, string hostedModels, params string[] extraArguments)
    {
        var port = FreePortBlock();
        var listen = new Uri($"http://127.0.0.1:{port}");
        var worker = Serve(name, ["--role", "worker", "--storage", Storage, "--blob", BlobLocation, "--listen", listen.ToString(),
            "--silo-port", (port + 1).ToString(CultureInfo.InvariantCulture), "--gateway-port", (port + 2).ToString(CultureInfo.InvariantCulture),
            "--models", hostedModels, "--name", name, "--model-cache", Path.Combine(_dir, "models"), .. extraArguments]);
        await WaitReadyAsync(worker, name, listen);
        return worker;
    }

    /// <summary>Stops Azurite and starts it again on its data (every connection of every silo is cut meanwhile).</summary>
    public async Task RestartAzuriteAsync()
    {
        string[] where = ["--dir", Path.Combine(_dir, "azurite"), "--port", Port(2)];
        var script = Fixtures.Path("..", "..", "deploy", "azurite.sh");
        await RunAsync("bash", [script, "stop", .. where]);
        await RunAsync("bash", [script, "start", .. where]);
    }

    private async Task WaitReadyAsync(Process process, string name, Uri listen)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (!await IsReadyAsync(http, new Uri(listen, "/readyz")))
        {
            Assert.False(process.HasExited, $"{name} exited with {(process.HasExited ? process.ExitCode : 0)}; see {Path.Combine(_dir, name + ".log")}");
            await Task.Delay(200, timeout.Token);
        }
    }

    /// <summary><c>salient serve ARGUMENTS</c> with the test settings, its output appended to DIR/NAME.log.</summary>
    private Process Serve(string name, string[] arguments)
    {
        var log = Path.Combine(_dir, name + ".log");
        var start = new ProcessStartInfo("bash") { UseShellExecute = false };
        // Through the shell so that the process writes its log itself and needs no reader here.
        foreach (var argument in (string[])["-c", "exec dotnet \"$@\" >>\"$SALIENT_TEST_LOG\" 2>&1", "serve", Salient, "serve", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (variable, value) in FastSettings)
        {
            start.Environment[variable] = value;
        }

        start.Environment["SALIENT_TEST_LOG"] = log;
        return Process.Start(start)!;
    }

    private static async Task<bool> IsReadyAsync(HttpClient http, Uri readyz)
    {
        try
        {
            return (await http.GetAsync(readyz)).IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private string Port(int offset) => (_port + offset).ToString(CultureInfo.InvariantCulture);

    private static async Task<int> RunAsync(string file, string[] arguments, bool check = true)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (variable, value) in FastSettings)
        {
            start.Environment[variable] = value;
        }

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

    /// <summary>A port whose next 40 neighbours are free too (the script uses port + 1 ... + 5, + 11..., + 21..., + 31...).</summary>
    public static int FreePortBlock()
    {
        while (true)
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var port = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            if (port < 60000 && Enumerable.Range(port, 40).All(IsFree))
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
