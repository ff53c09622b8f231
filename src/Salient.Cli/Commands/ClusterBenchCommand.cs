using System.CommandLine;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Salient.Cluster;
using Salient.Cluster.Contracts;
using Salient.Cluster.Grains;
using Salient.Cluster.Internal;
using Salient.Cluster.Silo;
using Salient.Cluster.Worker;
using Salient.Methods.Pipeline;
using Salient.Storage;

namespace Salient.Cli.Commands;

/// <summary>
/// <c>salient bench cluster</c>: no-op shards through the real job and model grains, placement and grain storage,
/// with a coordinator silo and 1, 2, 4... worker silos in this process; shard completions per second and the
/// latency from a shard's assignment by the job grain to its start on a model grain; and, over the same span, the
/// process's CPU time per shard (all silos share the process, so it is the cluster's whole cost of a shard) split into
/// user and system time, with the Orleans messages sent from one silo to another per shard.
/// </summary>
internal static class ClusterBenchCommand
{
    public static Command Create()
    {
        var workers = new Option<string>("--workers") { Description = "Worker silo counts to measure, comma-separated.", DefaultValueFactory = _ => "1,2,4" };
        var shards = new Option<int>("--shards") { Description = "Shards of the job (one item each).", DefaultValueFactory = _ => 20_000 };
        var capacity = new Option<int>("--capacity") { Description = "Shards each model grain runs at once.", DefaultValueFactory = _ => 8 };
        var credit = new Option<int>("--credit") { Description = "Shards in flight per model grain, per slot of capacity.", DefaultValueFactory = _ => 4 };
        var storage = new Option<string?>("--storage") { Description = "Grain state: an Azure Storage connection string (Azurite), or a temporary folder by default." };
        var command = new Command("cluster", "Shard completions per second and assignment latency of no-op shards through the cluster's grains.")
        {
            workers, shards, capacity, credit, storage,
        };
        command.SetAction(async (r, ct) =>
        {
            var counts = r.GetValue(workers)!.Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToArray();
            Console.WriteLine("workers  shards  seconds  completions/s  assign p50 ms  assign p99 ms  cpu ms/shard  user ms  sys ms  msgs/shard");
            foreach (var count in counts)
            {
                var result = await RunAsync(count, r.GetValue(shards), r.GetValue(capacity), r.GetValue(credit), r.GetValue(storage), ct);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{count,7}  {result.Shards,6}  {result.Seconds,7:0.00}  {result.Shards / result.Seconds,12:0}  {result.P50,13:0.00}  {result.P99,13:0.00}  {(result.User + result.System) / result.Shards,12:0.000}  {result.User / result.Shards,7:0.000}  {result.System / result.Shards,6:0.000}  {(double)result.Messages / result.Shards,10:0.000}"));
            }

            return 0;
        });
        return command;
    }

    /// <summary>
    /// One run: its shards and seconds, the assignment latency's p50 and p99 in milliseconds, the process's user and
    /// system CPU milliseconds while the job ran, and the Orleans messages (requests and responses) sent meanwhile from
    /// one silo to another.
    /// </summary>
    private sealed record Result(int Shards, double Seconds, double P50, double P99, double User, double System, long Messages);

    private static async Task<Result> RunAsync(int workers, int shardCount, int capacity, int credit, string? storage, CancellationToken ct)
    {
        var folder = Directory.CreateTempSubdirectory("salient-bench-cluster-").FullName;
        var latencies = new ConcurrentBag<double>();
        var hosts = new List<IHost>();
        try
        {
            var primary = new IPEndPoint(IPAddress.Loopback, FreePort());
            for (var i = 0; i <= workers; i++)
            {
                var role = i == 0 ? ClusterRole.Coordinator : ClusterRole.Worker;
                var endpoints = new SiloEndpoints { SiloPort = i == 0 ? primary.Port : FreePort(), GatewayPort = FreePort(), PrimarySilo = primary, ClusterId = "bench-" + Path.GetFileName(folder) };
                var host = Host.CreateDefaultBuilder()
                    // No watch on the working folder for configuration changes: under a folder full of files (or one the
                    // run writes into) it would add work to every file the run creates, and the figures would depend on it.
                    .ConfigureHostConfiguration(c => c.AddInMemoryCollection([new("hostBuilder:reloadConfigOnChange", "false")]))
                    .ConfigureLogging(l => l.SetMinimumLevel(LogLevel.Error))
                    .UseOrleans(silo => silo
                        .UseSalientStorage(SiloStorage.Parse(storage ?? Path.Combine(folder, "state")), endpoints)
                        .AddSalientGrains(role, new WorkerOptions { Name = $"bench-{i}", Models = HostedModels.Parse("bench"), Capacity = capacity },
                            new ClusterGrainOptions { CreditPerSlot = credit, QueuePerSlot = credit + 1, LeaseDuration = TimeSpan.FromMinutes(1) }))
                    .ConfigureServices(services =>
                    {
                        services.AddSingleton(BlobStore.Open(Path.Combine(folder, "blobs")));
                        services.AddSingleton<IShardExecutor>(sp => new NoopShards(new GrainShardLeases(sp.GetRequiredService<IGrainFactory>()), sp.GetRequiredService<IBlobStore>(), latencies));
                    })
                    .Build();
                await host.StartAsync(ct);
                hosts.Add(host);
            }

            var grains = hosts[0].Services.GetRequiredService<IGrainFactory>();
            var id = Guid.CreateVersion7();
            // Workers join the membership a moment after they start: wait until the job sees them all.
            await WaitForWorkersAsync(grains, workers, ct);
            using var messages = new MessageCounter();
            var sent = messages.Sent;
            var cpu = Environment.CpuUsage;
            var clock = Stopwatch.StartNew();
            await grains.GetGrain<IJobGrain>(id).SubmitAsync(new JobPlan(id, "noop", "{}", new ModelAddress("bench", "", ""),
                [.. Enumerable.Range(0, shardCount).Select(i => $"i{i}")], 1, 0, 3));
            while ((await grains.GetGrain<IJobGrain>(id).GetAsync())!.Shards.Done < shardCount)
            {
                await Task.Delay(20, ct);
            }

            var seconds = clock.Elapsed.TotalSeconds;
            var used = Environment.CpuUsage;
            var messagesSent = messages.Sent - sent;
            var sorted = latencies.Order().ToArray();
            return new Result(shardCount, seconds, sorted[sorted.Length / 2], sorted[(int)(sorted.Length * 0.99)],
                (used.UserTime - cpu.UserTime).TotalMilliseconds, (used.PrivilegedTime - cpu.PrivilegedTime).TotalMilliseconds, messagesSent);
        }
        finally
        {
            foreach (var host in Enumerable.Reverse(hosts))
            {
                await host.StopAsync(CancellationToken.None);
                host.Dispose();
            }

            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task WaitForWorkersAsync(IGrainFactory grains, int workers, CancellationToken ct)
    {
        var catalog = grains.GetGrain<IJobCatalogGrain>(0);
        while ((await catalog.ListWorkersAsync()).Count(w => w.Status == "active") < workers)
        {
            await Task.Delay(100, ct);
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    /// <summary>Counts the Orleans messages the silos of this process send to one another, from Orleans' own instrument.</summary>
    private sealed class MessageCounter : IDisposable
    {
        // One measurement (the message's size) per message sent to another silo.
        private const string RemoteSent = "orleans-messaging-sent-messages-size";

        private readonly MeterListener _listener = new();
        private long _sent;

        public MessageCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Microsoft.Orleans" && instrument.Name == RemoteSent)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<int>((_, _, _, _) => Interlocked.Increment(ref _sent));
            _listener.SetMeasurementEventCallback<long>((_, _, _, _) => Interlocked.Increment(ref _sent));
            _listener.Start();
        }

        /// <summary>Messages sent to other silos since the listener started.</summary>
        public long Sent => Interlocked.Read(ref _sent);

        public void Dispose() => _listener.Dispose();
    }

    /// <summary>
    /// Completes each shard at once with one record per item, kept and reported as the worker's shard runner does (a
    /// shard of one item reports its record; the job's manifest is made of them), and notes its assignment latency.
    /// </summary>
    private sealed class NoopShards(IShardLeases leases, IBlobStore blobs, ConcurrentBag<double> latencies) : IShardExecutor
    {
        private static readonly TimeSpan Lease = TimeSpan.FromMinutes(1);

        public async Task RunAsync(ShardLease lease, CancellationToken handBack = default)
        {
            latencies.Add((DateTimeOffset.UtcNow - (lease.ExpiresAt - Lease)).TotalMilliseconds);
            var records = lease.Items.SelectMany(item => new ManifestRecord(item, "noop", null, null, null, null, null, null).ToJsonLine()).ToArray();
            var inline = await ShardRecords.KeepAsync(blobs, lease, records, handBack);
            await leases.CompleteShardAsync(lease, new ShardReport(lease.Items.Count, 0, lease.Items.Count, lease.FencingToken, null, RecordLines: inline).ToJson(), CancellationToken.None);
        }
    }
}
