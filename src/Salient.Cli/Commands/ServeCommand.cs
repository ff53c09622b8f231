using System.CommandLine;
using System.Globalization;
using System.Net;
using Salient.Cluster;
using Salient.Cluster.Coordinator;
using Salient.Cluster.Silo;
using Salient.Cluster.Worker;

namespace Salient.Cli.Commands;

/// <summary><c>salient serve --role coordinator|worker|all</c>: a cluster process (docs/api.md, "Processes").</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var role = new Option<string>("--role") { Description = "coordinator, worker, or all (both in one process).", DefaultValueFactory = _ => "all" };
        role.AcceptOnlyFromAmong("coordinator", "worker", "all");
        var storage = Env(new Option<string?>("--storage")
        {
            Description = "Cluster storage (env SALIENT_STORAGE): an Azure Storage connection string (UseDevelopmentStorage=true for Azurite) "
                + "for the silos' membership, grain state and reminders, or a folder for the embedded single process (--role all).",
        }, "SALIENT_STORAGE");
        var siloPort = new Option<int>("--silo-port") { Description = "Silo-to-silo port.", DefaultValueFactory = _ => 11111 };
        var gatewayPort = new Option<int>("--gateway-port") { Description = "Orleans client gateway port.", DefaultValueFactory = _ => 30000 };
        var clusterId = Env(new Option<string?>("--cluster-id") { Description = "Orleans cluster id shared by the cluster's silos (env SALIENT_CLUSTER_ID), default salient." }, "SALIENT_CLUSTER_ID");
        var advertise = Env(new Option<string?>("--advertise") { Description = "The IP address other silos reach this one at (env SALIENT_ADVERTISE), default 127.0.0.1." }, "SALIENT_ADVERTISE");
        var blob = Env(new Option<string?>("--blob") { Description = "Blob store: folder, file://, Azure connection string (+;Container=NAME) or container SAS URL (env SALIENT_BLOB)." }, "SALIENT_BLOB");
        var listen = Env(new Option<string?>("--listen") { Description = "HTTP address (env SALIENT_LISTEN), default http://0.0.0.0:8080." }, "SALIENT_LISTEN");
        var apiKeysFile = new Option<FileInfo?>("--api-keys-file") { Description = "Client API keys, one per line (env SALIENT_API_KEYS, comma-separated); none: an open API." };
        var workerTokenFile = new Option<FileInfo?>("--worker-token-file") { Description = "The secret workers present to /api/v1/worker/* (env SALIENT_WORKER_TOKEN)." };
        var models = Env(new Option<string?>("--models") { Description = "Model keys this worker hosts, comma-separated, or any (env SALIENT_MODELS)." }, "SALIENT_MODELS");
        var devices = Env(new Option<string?>("--devices") { Description = "Devices it serves, one model grain per model and device: cpu, cuda:0,... (env SALIENT_DEVICES), default cpu." }, "SALIENT_DEVICES");
        var capacity = new Option<int>("--capacity") { Description = "Shards in flight at once.", DefaultValueFactory = _ => 1 };
        var modelCache = Env(new Option<string?>("--model-cache") { Description = "Where downloaded models are kept, by SHA-256 (env SALIENT_MODEL_CACHE)." }, "SALIENT_MODEL_CACHE");
        var name = new Option<string?>("--name") { Description = "The worker's name; host-pid by default." };
        var batch = new Option<int>("--batch") { Description = "Items per forward pass.", DefaultValueFactory = _ => 8 };
        var lease = Env(new Option<string?>("--lease-seconds") { Description = "Lease duration in seconds (env SALIENT_LEASE_SECONDS), default 30; renewed every third of it." }, "SALIENT_LEASE_SECONDS");
        var backoff = Env(new Option<string?>("--retry-backoff-seconds") { Description = "A failed shard waits backoff · 2^attempt (env SALIENT_RETRY_BACKOFF_SECONDS), default 5." }, "SALIENT_RETRY_BACKOFF_SECONDS");
        var drain = Env(new Option<string?>("--drain-seconds")
        {
            Description = "How long a stopping process may take (env SALIENT_DRAIN_SECONDS), default 120: a worker finishes its shards, and hands back "
                + "those still unfinished a little before (a quarter of it, at most 10 s, before). Keep it below Kubernetes' grace period.",
        }, "SALIENT_DRAIN_SECONDS");

        var command = new Command("serve", "Run a cluster coordinator, worker, or both.")
        {
            role, storage, siloPort, gatewayPort, clusterId, advertise, blob, listen, apiKeysFile, workerTokenFile, models, devices, capacity, modelCache, name, batch, lease, backoff, drain,
        };
        command.SetAction(r =>
        {
            ClusterHostOptions options;
            try
            {
                var leaseDuration = Seconds(r.GetValue(lease), "--lease-seconds", 30);
                var drainTimeout = Seconds(r.GetValue(drain), "--drain-seconds", 120);
                var workerDefaults = new WorkerOptions();
                options = new ClusterHostOptions
                {
                    Role = Enum.Parse<ClusterRole>(r.GetValue(role)!, ignoreCase: true),
                    Storage = r.GetValue(storage) ?? throw new ArgumentException("--storage (or SALIENT_STORAGE) is required."),
                    Silo = new SiloEndpoints
                    {
                        SiloPort = r.GetValue(siloPort),
                        GatewayPort = r.GetValue(gatewayPort),
                        ClusterId = r.GetValue(clusterId) ?? "salient",
                        AdvertisedAddress = r.GetValue(advertise) is { } ip
                            ? (IPAddress.TryParse(ip, out var address) ? address : throw new ArgumentException($"--advertise: '{ip}' is not an IP address."))
                            : IPAddress.Loopback,
                    },
                    Blob = r.GetValue(blob) ?? throw new ArgumentException("--blob (or SALIENT_BLOB) is required."),
                    Listen = r.GetValue(listen) ?? "http://0.0.0.0:8080",
                    DrainTimeout = drainTimeout,
                    Coordinator = new CoordinatorOptions
                    {
                        ApiKeys = ReadKeys(r.GetValue(apiKeysFile)),
                        WorkerToken = ReadToken(r.GetValue(workerTokenFile)),
                    },
                    Worker = new WorkerOptions
                    {
                        Name = r.GetValue(name) ?? workerDefaults.Name,
                        Models = HostedModels.Parse(r.GetValue(models) ?? "any"),
                        Devices = DeviceOption.ParseList(r.GetValue(devices) ?? "cpu", "--devices"),
                        Capacity = r.GetValue(capacity),
                        BatchSize = r.GetValue(batch),
                        LeaseDuration = leaseDuration,
                        RenewInterval = leaseDuration / 3,
                        ModelCache = r.GetValue(modelCache) ?? workerDefaults.ModelCache,
                        // Time to give the leases back before the host stops waiting.
                        HandBackAfter = drainTimeout - TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(10).Ticks, drainTimeout.Ticks / 4)),
                    },
                    RetryBackoff = Seconds(r.GetValue(backoff), "--retry-backoff-seconds", 5),
                };
                options.Worker.Validate();
            }
            catch (Exception e) when (e is ArgumentException or FormatException or IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }

            ClusterHost.Build(options).Run();
            return 0;
        });
        return command;
    }

    /// <summary>Falls back to the environment variable when the option is not given.</summary>
    private static Option<string?> Env(Option<string?> option, string variable)
    {
        option.DefaultValueFactory = _ => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value : null;
        return option;
    }

    private static TimeSpan Seconds(string? text, string option, double fallback)
    {
        if (text is null)
        {
            return TimeSpan.FromSeconds(fallback);
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : throw new ArgumentException($"{option}: '{text}' is not a positive number of seconds.");
    }

    private static HashSet<string> ReadKeys(FileInfo? file)
    {
        var text = file is null ? Environment.GetEnvironmentVariable("SALIENT_API_KEYS") ?? "" : File.ReadAllText(file.FullName);
        return [.. text.Split([',', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
    }

    private static string? ReadToken(FileInfo? file)
    {
        var token = file is null ? Environment.GetEnvironmentVariable("SALIENT_WORKER_TOKEN") : File.ReadAllText(file.FullName).Trim();
        return string.IsNullOrEmpty(token) ? null : token;
    }
}
