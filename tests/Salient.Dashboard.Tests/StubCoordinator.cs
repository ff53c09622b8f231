using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Logging;
using Salient.Imaging;
using Salient.Methods.Metrics;

namespace Salient.Dashboard.Tests;

/// <summary>
/// An in-process coordinator on a free loopback port answering docs/api.md's dashboard routes with
/// canned data: the dashboard's static files, one explain job whose progress events run it to the end
/// once a client follows them, its metrics (real <see cref="MetricAccumulator"/> summaries), results
/// with real overlays of the fixture images, and two workers. API key required, as the real one does.
/// </summary>
public sealed class StubCoordinator : IDashboardCluster, IAsyncLifetime
{
    private const string JobId = "4f6c1e2a-9b3d-4c5e-8f7a-1b2c3d4e5f60";

    /// <summary>Two finished jobs submitted in the same millisecond: UUIDv7 ids whose first 8 characters agree.</summary>
    public static readonly (string Id, string State)[] TwinJobs = [("0193a1b2-c3d4-7e5f-8a6b-0c1d2e3f4a5b", "failed"), ("0193a1b2-c3d4-7f00-9b7c-1d2e3f4a5b6c", "cancelled")];
    private const string Model = "resnet_basic";
    private static readonly string[] Methods = ["gradcam", "layercam"];
    private static readonly (string File, int Class, string Label)[] Inputs = [("tshirt.jpg", 0, "T-shirt/top"), ("dress.png", 3, "Dress"), ("sneaker.jpg", 7, "Sneaker")];
    /// <summary>The API's JSON conventions (<c>Salient.Client.SalientJson</c>): snake_case, nulls left out.</summary>
    private static readonly JsonSerializerOptions ApiJson = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly ProgressClock _job = new(ItemCount: Inputs.Length + 1, StepTime: TimeSpan.FromMilliseconds(250));
    private readonly Dictionary<string, byte[]> _blobs = [];
    private readonly List<object> _results = [];
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;

    public string ApiKey => "dashboard-test-key";

    public int MethodCount => Methods.Length;

    public Task<string> SubmitJobAsync(CancellationToken cancellationToken) => Task.FromResult(JobId);

    public async Task InitializeAsync()
    {
        BuildResults();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();

        var wwwroot = new PhysicalFileProvider(Path.GetFullPath(Fixtures.Path("..", "..", "src", "Salient.Cluster", "Dashboard", "wwwroot")));
        _app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = wwwroot });
        _app.UseStaticFiles(new StaticFileOptions { FileProvider = wwwroot });
        _app.Use(RequireApiKey);
        MapApi(_app);

        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        BaseAddress = new Uri(address);
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    /// <summary>401 for API calls without the key as a Bearer header (or as <c>?access_token=</c> on the events stream).</summary>
    private async Task RequireApiKey(HttpContext context, Func<Task> next)
    {
        var request = context.Request;
        var accepted = request.Headers.Authorization == $"Bearer {ApiKey}"
            || (request.Path.Value!.EndsWith("/events", StringComparison.Ordinal) && request.Query["access_token"] == ApiKey);
        if (request.Path.StartsWithSegments("/api") && !accepted)
        {
            await Results.Problem(detail: "Missing or wrong API key.", statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(context);
            return;
        }

        await next();
    }

    private void MapApi(WebApplication app)
    {
        var api = app.MapGroup("/api/v1");
        api.MapGet("/jobs", () => Results.Json(new[] { JobDocument() }.Concat(TwinJobs.Select(j => TwinJob(j.Id, j.State))), ApiJson));
        api.MapGet("/jobs/{id}", (string id) => id == JobId ? Results.Json(JobDocument(), ApiJson)
            : TwinJobs.Any(j => j.Id == id) ? Results.Json(TwinJob(id, TwinJobs.Single(j => j.Id == id).State), ApiJson) : Results.NotFound());
        api.MapGet("/jobs/{id}/events", StreamEvents);
        api.MapGet("/jobs/{id}/metrics", (string id) => id == JobId && _job.IsFinished ? Results.Json(MetricsDocument(), ApiJson) : Results.NotFound());
        api.MapGet("/jobs/{id}/results", (string id, int after, int? limit) => Results.Json(_results.Skip(after).Take(limit ?? 100), ApiJson));
        api.MapGet("/jobs/{id}/blobs/{**path}", (string id, string path) => _blobs.TryGetValue(path, out var png) ? Results.Bytes(png, "image/png") : Results.NotFound());
        api.MapGet("/jobs/{id}/inputs/{**item}", (string id, string item) => Inputs.Any(i => $"datasets/demo/{i.File}" == item)
            ? Results.File(Fixtures.Path("images", Path.GetFileName(item)), item.EndsWith(".png", StringComparison.Ordinal) ? "image/png" : "image/jpeg")
            : Results.NotFound());
        api.MapGet("/workers", () => Results.Json(Workers(), ApiJson));
    }

    /// <summary>Progress events (data: the job) on every change, then <c>done</c>; the first connection starts the job.</summary>
    private async Task StreamEvents(HttpContext context, string id)
    {
        if (id != JobId)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        _job.Start();
        context.Response.ContentType = "text/event-stream";
        var sent = -1;
        while (!context.RequestAborted.IsCancellationRequested)
        {
            var done = _job.ItemsDone;
            if (done != sent)
            {
                await context.Response.WriteAsync($"event: progress\ndata: {JsonSerializer.Serialize(JobDocument(), ApiJson)}\n\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
                sent = done;
            }

            if (_job.IsFinished)
            {
                await context.Response.WriteAsync("event: done\ndata: {}\n\n", context.RequestAborted);
                return;
            }

            await Task.Delay(50, context.RequestAborted);
        }
    }

    /// <summary>The job now: one shard per item, the last item (broken.jpg) fails on its own.</summary>
    private JobDocument JobDocument()
    {
        var done = _job.ItemsDone;
        var total = _job.ItemCount;
        var finished = done == total;
        var leased = _job.IsStarted && !finished ? 1 : 0;
        var now = DateTimeOffset.UtcNow;
        return new JobDocument(JobId, "explain", finished ? "succeeded" : _job.IsStarted ? "running" : "queued", Model, now.AddMinutes(-1), now, finished ? now : null,
            new ShardCounts(total, total - done - leased, leased, done, 0, 0), new ItemCounts(total, done, finished ? 1 : 0),
            _job.IsStarted ? 4.0 : null, finished ? null : (total - done) / 4.0, null, finished);
    }

    /// <summary>A finished job that did not succeed: some of its shards dead, or cancelled half way.</summary>
    private static JobDocument TwinJob(string id, string state)
    {
        var created = DateTimeOffset.UtcNow.AddMinutes(-5);
        return new JobDocument(id, "explain", state, Model, created, created.AddMinutes(1), created.AddMinutes(1),
            new ShardCounts(4, 0, 0, 2, state == "failed" ? 2 : 0, state == "cancelled" ? 2 : 0), new ItemCounts(8, 4, 0), 2.0, null,
            state == "failed" ? "2 of 4 shards dead-lettered" : null, false);
    }

    /// <summary>Made-up scores merged as the coordinator merges shard reports: counts, the accumulator, and its summary per method.</summary>
    private static object MetricsDocument()
    {
        var metrics = new MetricAccumulator();
        double[] x = [.. Enumerable.Range(0, 17).Select(i => i / 16.0)];
        for (var m = 0; m < Methods.Length; m++)
        {
            for (var item = 0; item < Inputs.Length; item++)
            {
                var sharpness = 2 + m + item;
                metrics.CountItem(Methods[m], failed: false);
                metrics.AddCurve(Methods[m], "deletion", x, [.. x.Select(f => Math.Exp(-sharpness * f))]);
                metrics.AddCurve(Methods[m], "insertion", x, [.. x.Select(f => 1 - Math.Exp(-sharpness * f))]);
                metrics.Add(Methods[m], "deletion", 1 / (double)sharpness);
                metrics.Add(Methods[m], "insertion", 1 - (1 / (double)sharpness));
                metrics.Add(Methods[m], "pointing", (item + m) % 2);
                metrics.Add(Methods[m], "energy", 0.3 + (0.1 * m) + (0.05 * item));
            }

            metrics.CountItem(Methods[m], failed: true);
        }

        return new
        {
            Shards = Inputs.Length + 1,
            Items = Inputs.Length + 1,
            Failed = 1,
            Records = Inputs.Length * Methods.Length,
            Accumulator = JsonDocument.Parse(metrics.ToJson()).RootElement,
            Summary = Methods.ToDictionary(m => m, metrics.Summarize),
        };
    }

    /// <summary>One record per input and method, with an overlay of a made-up map on the fixture image; one failed input.</summary>
    private void BuildResults()
    {
        foreach (var (file, c, label) in Inputs)
        {
            using var image = RgbImage.Load(Fixtures.Path("images", file));
            for (var m = 0; m < Methods.Length; m++)
            {
                var overlay = $"items/{Path.GetFileNameWithoutExtension(file)}/{Methods[m]}-c{c}.overlay.png";
                using var blended = SaliencyRenderer.Overlay(Blob(image.Width, image.Height, 0.35 + (0.3 * m)), image);
                using var png = new MemoryStream();
                PngEncoder.Write(png, blended);
                _blobs[overlay] = png.ToArray();
                _results.Add(new { Item = $"datasets/demo/{file}", Method = Methods[m], Class = c, Label = label, Score = 0.9, Outputs = new { Overlay = overlay } });
            }
        }

        // As workers report a broken input: one error record per method.
        foreach (var method in Methods)
        {
            _results.Add(new { Item = "datasets/demo/broken.jpg", Method = method, Error = "Input 'datasets/demo/broken.jpg': JPEG data is truncated or corrupt" });
        }
    }

    /// <summary>A Gaussian bump centred at (<paramref name="centre"/>, <paramref name="centre"/>) of the image, in [0, 1].</summary>
    private static float[] Blob(int width, int height, double centre)
    {
        var map = new float[width * height];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var dx = ((double)x / width) - centre;
                var dy = ((double)y / height) - centre;
                map[(y * width) + x] = (float)Math.Exp(-((dx * dx) + (dy * dy)) / 0.05);
            }
        }

        return map;
    }

    private static object[] Workers()
    {
        var now = DateTimeOffset.UtcNow;
        return
        [
            new { Id = "7d1e0c9a-0000-4000-8000-000000000001", Name = "worker-a:4121", Devices = new[] { "cpu" }, Models = new[] { Model }, Capacity = 2, State = "active", HeartbeatAt = now.AddSeconds(-3), ShardsInFlight = 1 },
            new { Id = "7d1e0c9a-0000-4000-8000-000000000002", Name = "worker-b:4122", Devices = new[] { "cpu" }, Models = new[] { "any" }, Capacity = 1, State = "lost", HeartbeatAt = now.AddMinutes(-4), ShardsInFlight = 0 },
            // Killed 45 s ago: the coordinator still says active (until its peers declare its silo dead).
            new { Id = "7d1e0c9a-0000-4000-8000-000000000003", Name = "worker-c:4123", Devices = new[] { "cpu" }, Models = new[] { Model }, Capacity = 1, State = "active", HeartbeatAt = now.AddSeconds(-45), ShardsInFlight = 1 },
        ];
    }

    /// <summary>A job's items completing one per step from the first <see cref="Start"/> on.</summary>
    private sealed class ProgressClock(int ItemCount, TimeSpan StepTime)
    {
        private readonly Stopwatch _clock = new();

        public int ItemCount { get; } = ItemCount;

        public int ItemsDone => (int)Math.Min(ItemCount, _clock.Elapsed / StepTime);

        public bool IsFinished => ItemsDone == ItemCount;

        public bool IsStarted => _clock.IsRunning;

        public void Start()
        {
            lock (_clock)
            {
                _clock.Start();
            }
        }
    }
}

/// <summary>docs/api.md's <c>Job</c>.</summary>
internal sealed record JobDocument(string Id, string Kind, string State, string Model, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset? FinishedAt,
    ShardCounts Shards, ItemCounts Items, double? ThroughputItemsPerS, double? EtaS, string? Error, bool MetricsAvailable);

internal sealed record ShardCounts(int Total, int Queued, int Leased, int Done, int Dead, int Cancelled);

internal sealed record ItemCounts(int Total, int Done, int Failed);
