using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
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
    /// <summary>The REST API, schema migration and the sweeper.</summary>
    Coordinator,

    /// <summary>A worker that claims and runs shards.</summary>
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
    /// Azure Storage connection string, or a folder for the embedded single process. Every process is then a silo.
    /// </summary>
    public string? Storage { get; init; }

    /// <summary>The silo's ports, cluster id and advertised address (with <see cref="Storage"/>).</summary>
    public SiloEndpoints Silo { get; init; } = new();

    /// <summary>PostgreSQL connection string of the older, hand-written coordination (when <see cref="Storage"/> is not set).</summary>
    public string? Database { get; init; }

    /// <summary>Blob store location, as <see cref="BlobStore.Open"/> takes it.</summary>
    public required string Blob { get; init; }

    /// <summary>HTTP address to listen on.</summary>
    public string Listen { get; init; } = "http://0.0.0.0:8080";

    /// <summary>The coordinator's settings.</summary>
    public CoordinatorOptions Coordinator { get; init; } = new();

    /// <summary>The worker's settings.</summary>
    public WorkerOptions Worker { get; init; } = new();

    /// <summary>The store's settings (retry backoff, worker timeout); its metrics merger is always <see cref="ShardReportMerger"/>.</summary>
    public ClusterStoreOptions Store { get; init; } = new();

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
    /// The application for <paramref name="options"/>: health, readiness and Prometheus endpoints for
    /// every role; for a coordinator, schema migration at start, the REST API, the OpenAPI document,
    /// the sweeper and the dashboard's static files when they are installed; for a worker, the worker loop.
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
        if ((options.Storage is null) == (options.Database is null))
        {
            throw new ArgumentException("Give exactly one of --storage (Orleans: an Azure Storage connection string or a folder) and --db (PostgreSQL).");
        }

        var builder = WebApplication.CreateSlimBuilder(args ?? []);
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
        var orleans = options.Storage is not null;
        if (orleans)
        {
            AddSilo(builder, options);
        }
        else
        {
            AddPostgres(builder.Services, options, coordinator, worker);
        }

        if (coordinator)
        {
            builder.Services.AddCoordinatorServices();
            builder.Services.AddOpenApi("v1");
        }

        var app = builder.Build();
        if (coordinator)
        {
            if (!orleans)
            {
                // Before any request or worker: the schema is current.
                app.Services.GetRequiredService<ClusterStore>().MigrateAsync().GetAwaiter().GetResult();
            }

            UseDashboard(app);
            app.UseCoordinatorAuthentication(options.Coordinator);
            app.MapCoordinatorApi();
            app.MapOpenApi("/openapi/{documentName}.json");
        }

        app.MapGet("/healthz", () => Results.Text("ok"));
        app.MapGet("/readyz", async (HttpContext context, CancellationToken ct) =>
        {
            var ready = (orleans || !worker || context.RequestServices.GetRequiredService<ClusterWorker>().IsReady)
                && (!coordinator || await StoreReachableAsync(context.RequestServices.GetRequiredService<IClusterJobs>(), ct).ConfigureAwait(false));
            return ready ? Results.Text("ready") : Results.Text("not ready", statusCode: 503);
        });
        app.MapGet("/metrics", async (HttpContext context, CancellationToken ct) =>
            Results.Text(await PrometheusAsync(context.RequestServices, coordinator, worker && !orleans, ct).ConfigureAwait(false), "text/plain; version=0.0.4"));
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
        var storage = SiloStorage.Parse(options.Storage!);
        if (storage.Folder is not null && options.Role != ClusterRole.All)
        {
            throw new ArgumentException("--storage FOLDER runs the embedded single-process cluster: use --role all, or an Azure Storage connection string for separate processes.");
        }

        builder.Host.UseOrleans(silo => silo
            .UseSalientStorage(storage, options.Silo)
            .AddSalientGrains(options.Role, options.Worker, new ClusterGrainOptions
            {
                LeaseDuration = options.Worker.LeaseDuration,
                RetryBackoff = options.Store.RetryBackoff,
                MaxRetryBackoff = options.Store.MaxRetryBackoff,
                HandBackAfter = options.Worker.HandBackAfter,
            }));
        builder.Services.AddSingleton<IClusterJobs>(sp => new GrainClusterJobs(sp.GetRequiredService<IGrainFactory>()));
        if (options.Role != ClusterRole.Worker)
        {
            builder.Services.AddHostedService<JobResumer>();
        }
    }

    /// <summary>The PostgreSQL store, its sweeper and the polling worker (the coordination the silos replace).</summary>
    private static void AddPostgres(IServiceCollection services, ClusterHostOptions options, bool coordinator, bool worker)
    {
        var storeOptions = new ClusterStoreOptions
        {
            TimeProvider = options.Store.TimeProvider,
            RetryBackoff = options.Store.RetryBackoff,
            MaxRetryBackoff = options.Store.MaxRetryBackoff,
            WorkerTimeout = options.Store.WorkerTimeout,
            TransientRetryWindow = options.Store.TransientRetryWindow,
            MetricsMerger = new ShardReportMerger(),
        };
        services.AddSingleton(_ => ClusterStore.Create(options.Database!, storeOptions));
        services.AddSingleton<IClusterJobs>(sp => sp.GetRequiredService<ClusterStore>());
        if (coordinator)
        {
            services.AddHostedService<JobFinisher>();
        }

        if (worker)
        {
            services.AddSingleton<ClusterWorker>();
            services.AddHostedService(sp => sp.GetRequiredService<ClusterWorker>());
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

    private static async Task<string> PrometheusAsync(IServiceProvider services, bool coordinator, bool worker, CancellationToken cancellationToken)
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
            Gauge("salient_workers", "Workers by state.", Enum.GetNames<WorkerState>().Select(s => s.ToLowerInvariant()).Select(s => ($"{{state=\"{s}\"}}", (double)counts.Workers.GetValueOrDefault(s))));
        }

        if (worker)
        {
            Gauge("salient_worker_ready", "Whether this worker is registered and heard by the store.", [("", services.GetRequiredService<ClusterWorker>().IsReady ? 1 : 0)]);
        }

        return text.ToString();
    }
}
