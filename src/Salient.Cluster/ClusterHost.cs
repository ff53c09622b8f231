using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Orleans.Dashboard;
using Salient.Client;
using Salient.Cluster.Coordinator;
using Salient.Cluster.Grains;
using Salient.Cluster.Silo;
using Salient.Cluster.Worker;
using Salient.Storage;

namespace Salient.Cluster;

/// <summary>Which parts of the cluster a process runs.</summary>
public enum ClusterRole
{
    /// <summary>A silo hosting the REST API, SSE, the dashboard and the job grains.</summary>
    Coordinator,

    /// <summary>A silo hosting model grains, which run shards.</summary>
    Worker,

    /// <summary>Both, in one process.</summary>
    All,
}

/// <summary>Everything <c>salient serve</c> configures (docs/api.md, "Processes").</summary>
public sealed class ClusterHostOptions
{
    /// <summary>The roles to run.</summary>
    public ClusterRole Role { get; init; } = ClusterRole.All;

    /// <summary>
    /// Where the Orleans cluster keeps membership, grain state and reminders (<see cref="SiloStorage.Parse"/>): an
    /// Azure Storage connection string, or a folder for the embedded single process.
    /// </summary>
    public required string Storage { get; init; }

    /// <summary>The silo's ports, cluster id and advertised address.</summary>
    public SiloEndpoints Silo { get; init; } = new();

    /// <summary>Blob store location, as <see cref="BlobStore.Open"/> takes it.</summary>
    public required string Blob { get; init; }

    /// <summary>HTTP address to listen on.</summary>
    public string Listen { get; init; } = "http://0.0.0.0:8080";

    /// <summary>The coordinator's settings.</summary>
    public CoordinatorOptions Coordinator { get; init; } = new();

    /// <summary>The worker's settings.</summary>
    public WorkerOptions Worker { get; init; } = new();

    /// <summary>A failed or expired shard waits <c>RetryBackoff · 2^(attempt-1)</c> before it is assigned again.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a stopping process waits for shards in flight before it exits; a worker hands back
    /// what is unfinished at <see cref="WorkerOptions.HandBackAfter"/>, which must come before this.
    /// </summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>Builds a coordinator, worker or both as one ASP.NET Core application.</summary>
public static class ClusterHost
{
    /// <summary>
    /// The application for <paramref name="options"/>: an Orleans silo with health, readiness and Prometheus
    /// endpoints for every role; for a coordinator, the REST API, the OpenAPI document and the dashboard's
    /// static files when they are installed.
    /// </summary>
    public static WebApplication Build(ClusterHostOptions options, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var coordinator = options.Role is ClusterRole.Coordinator or ClusterRole.All;
        var worker = options.Role is ClusterRole.Worker or ClusterRole.All;
        if (worker && options.Worker.HandBackAfter >= options.DrainTimeout)
        {
            throw new ArgumentException($"The worker hands shards back after {options.Worker.HandBackAfter.TotalSeconds:0.#} s, which must be sooner than the drain timeout ({options.DrainTimeout.TotalSeconds:0.#} s).");
        }

        // No watch for configuration changes: it would watch the working folder and every folder under it, so a
        // storage folder there (the embedded default's habit) would add work to every file a shard writes;
        // Salient's options come from the command line, not from reloadable files.
        var builder = WebApplication.CreateSlimBuilder([.. args ?? [], "--hostBuilder:reloadConfigOnChange=false"]);
        builder.WebHost.UseUrls(options.Listen);
        // Small for every request; the endpoints that take a body raise it to their own limit (BodyLimits).
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = CoordinatorApi.MaxOtherBytes);
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.DrainTimeout);
        builder.Services.AddProblemDetails();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.PropertyNamingPolicy = SalientJson.Options.PropertyNamingPolicy;
            json.SerializerOptions.DefaultIgnoreCondition = SalientJson.Options.DefaultIgnoreCondition;
        });
        builder.Services.AddSingleton(_ => BlobStore.Open(options.Blob));
        builder.Services.AddSingleton(options.Coordinator);
        builder.Services.AddSingleton(options.Worker);
        AddSilo(builder, options);

        if (coordinator)
        {
            builder.Services.AddCoordinatorServices();
            builder.Services.AddOpenApi("v1");
        }

        var app = builder.Build();
        if (coordinator)
        {
            UseDashboard(app);
            app.UseCoordinatorAuthentication(options.Coordinator);
            app.MapCoordinatorApi();
            app.MapOrleansDashboard(CoordinatorApi.OrleansDashboardPath);
            app.MapOpenApi("/openapi/{documentName}.json");
        }

        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", async (HttpContext context, CancellationToken ct) =>
        {
            var ready = !coordinator || await StoreReachableAsync(context.RequestServices.GetRequiredService<IClusterJobs>(), ct).ConfigureAwait(false);
            return ready ? Results.Text("ready") : Results.Text("not ready", statusCode: 503);
        });
        if (coordinator)
        {
            // KEDA's metrics-api scaler sizes a worker pool by this: {"pending": N} over the pool's models (all without ?models=).
            app.MapGet("/metrics/pending", async (string? models, IClusterJobs jobs, CancellationToken ct) =>
            {
                var pending = (await jobs.GetCountsAsync(ct).ConfigureAwait(false)).PendingShardsByModel;
                var keys = models?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                return Results.Json(new { pending = keys is null ? pending.Values.Sum() : keys.Distinct(StringComparer.Ordinal).Sum(k => pending.GetValueOrDefault(k)) });
            });
        }

        app.MapGet("/metrics", async (HttpContext context, CancellationToken ct) =>
            Results.Text(await PrometheusAsync(context.RequestServices, coordinator, ct).ConfigureAwait(false), "text/plain; version=0.0.4"));
        return app;
    }

    /// <summary>Serves the dashboard's files (<c>Dashboard/wwwroot</c> beside the program) at <c>/</c>, when they are installed.</summary>
    private static void UseDashboard(WebApplication app)
    {
        var root = Path.Combine(AppContext.BaseDirectory, "Dashboard", "wwwroot");
        if (!Directory.Exists(root))
        {
            return;
        }

        var files = new PhysicalFileProvider(root);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions { FileProvider = files });
    }

    /// <summary>The silo with its grains, storage and the resumption of unfinished jobs at start.</summary>
    private static void AddSilo(WebApplicationBuilder builder, ClusterHostOptions options)
    {
        var storage = SiloStorage.Parse(options.Storage);
        if (storage.Folder is not null && options.Role != ClusterRole.All)
        {
            throw new ArgumentException("--storage FOLDER runs the embedded single-process cluster: use --role all, or an Azure Storage connection string for separate processes.");
        }

        // Every silo feeds the Orleans dashboard, which the coordinators serve at /orleans.
        builder.Host.UseOrleans(silo => silo
            .UseSalientStorage(storage, options.Silo)
            .AddDashboard()
            .AddSalientGrains(options.Role, options.Worker, new ClusterGrainOptions
            {
                LeaseDuration = options.Worker.LeaseDuration,
                RetryBackoff = options.RetryBackoff,
                HandBackAfter = options.Worker.HandBackAfter,
            }));
        builder.Services.AddSingleton<IClusterJobs>(sp => new GrainClusterJobs(sp.GetRequiredService<IGrainFactory>()));
        if (options.Role != ClusterRole.Worker)
        {
            builder.Services.AddHostedService<JobResumer>();
        }
    }

    private static async Task<bool> StoreReachableAsync(IClusterJobs store, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(3));
        try
        {
            await store.ListJobsAsync(limit: 1, cancellationToken: timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException || timeout.IsCancellationRequested)
        {
            return false;
        }
    }

    private static async Task<string> PrometheusAsync(IServiceProvider services, bool coordinator, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        void Gauge(string name, string help, IEnumerable<(string Labels, double Value)> values)
        {
            text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n");
            foreach (var (labels, value) in values)
            {
                text.Append(CultureInfo.InvariantCulture, $"{name}{labels} {value}\n");
            }
        }

        if (coordinator)
        {
            var counts = await services.GetRequiredService<IClusterJobs>().GetCountsAsync(cancellationToken).ConfigureAwait(false);
            Gauge("salient_jobs", "Jobs by state.", Enum.GetNames<JobState>().Select(s => s.ToLowerInvariant()).Select(s => ($"{{state=\"{s}\"}}", (double)counts.Jobs.GetValueOrDefault(s))));
            Gauge("salient_shards", "Shards by state.", Enum.GetNames<ShardState>().Select(s => s.ToLowerInvariant()).Select(s => ($"{{state=\"{s}\"}}", (double)counts.Shards.GetValueOrDefault(s))));
            Gauge("salient_items_done", "Items of completed shards.", [("", counts.ItemsDone)]);
            Gauge("salient_pending_shards", "Queued or leased shards of unfinished jobs, by model.",
                counts.PendingShardsByModel.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => ($"{{model=\"{p.Key}\"}}", (double)p.Value)));
            Gauge("salient_workers", "Workers by state.", Enum.GetNames<WorkerState>().Select(s => s.ToLowerInvariant()).Select(s => ($"{{state=\"{s}\"}}", (double)counts.Workers.GetValueOrDefault(s))));
        }

        return text.ToString();
    }
}
