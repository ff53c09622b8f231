using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Salient.Client;
using Salient.Cluster.Contracts;
using Salient.Cluster.Internal;
using Salient.Methods.Pipeline;
using Salient.Storage;

namespace Salient.Cluster.Coordinator;

/// <summary>The coordinator's REST API (docs/api.md): models, jobs, progress events, results, workers.</summary>
public static class CoordinatorApi
{
    private const int MaxShardSize = 100_000;

    /// <summary>The most items a submission may list in <c>inputs.items</c>; longer lists go in a manifest blob.</summary>
    public const int MaxInlineItems = 10_000;

    /// <summary>The largest job submission body, in bytes (4 MiB: thousands of inline items; more go in a manifest blob).</summary>
    public const long MaxSubmissionBytes = 4L << 20;

    /// <summary>The largest model upload body, in bytes (1 GiB, multipart or raw ONNX).</summary>
    public const long MaxModelBytes = 1L << 30;

    /// <summary>The largest body of every other request (none of them takes one).</summary>
    public const long MaxOtherBytes = 64L << 10;

    /// <summary>Where a coordinator serves the Orleans dashboard (silos, grains, calls), behind the API key.</summary>
    public const string OrleansDashboardPath = "/orleans";

    /// <summary>
    /// Requires the API key on <c>/api/*</c> and on the Orleans dashboard (as a header, or <c>?key=</c> once, then a
    /// cookie), and the worker token on <c>/api/v1/worker/*</c> (the API key there when no worker token is set),
    /// answering 401 with a problem document.
    /// </summary>
    public static IApplicationBuilder UseCoordinatorAuthentication(this IApplicationBuilder app, CoordinatorOptions options)
    {
        const string KeyCookie = "salient-key";
        ArgumentNullException.ThrowIfNull(options);
        var keys = options.ApiKeys.Select(k => Encoding.UTF8.GetBytes(k)).ToList();
        var worker = options.WorkerToken is null ? null : Encoding.UTF8.GetBytes(options.WorkerToken);
        return app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            // Worker endpoints (model downloads) take the worker token, or the API keys where no token is set.
            var dashboard = path.StartsWithSegments(OrleansDashboardPath);
            var required = path.StartsWithSegments("/api/v1/worker") && worker is not null ? [worker] : path.StartsWithSegments("/api") || dashboard ? keys : [];
            if (required.Count > 0)
            {
                var header = context.Request.Headers.Authorization.ToString();
                // EventSource cannot send headers: the progress stream also takes the key as ?access_token=.
                // The scheme is case-insensitive (RFC 9110 section 11.1).
                // A browser opening the Orleans dashboard gives the key once as ?key= and then sends it as a cookie.
                var token = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header[7..].Trim()
                    : path.Value!.EndsWith("/events", StringComparison.Ordinal) ? context.Request.Query["access_token"].ToString()
                    : dashboard ? (context.Request.Query["key"].FirstOrDefault() ?? context.Request.Cookies[KeyCookie] ?? "") : "";
                var given = token.Length > 0 ? Encoding.UTF8.GetBytes(token) : null;
                if (given is null || !required.Any(k => CryptographicOperations.FixedTimeEquals(k, given)))
                {
                    context.Response.Headers.WWWAuthenticate = "Bearer";
                    await Results.Problem(statusCode: 401, title: "Unauthorized",
                        detail: given is null ? "Send 'Authorization: Bearer <key>'." : "The key is not valid for this endpoint.").ExecuteAsync(context).ConfigureAwait(false);
                    return;
                }

                if (dashboard && context.Request.Query.ContainsKey("key"))
                {
                    context.Response.Cookies.Append(KeyCookie, token, new CookieOptions
                    {
                        HttpOnly = true, SameSite = SameSiteMode.Strict, Path = OrleansDashboardPath, Secure = context.Request.IsHttps,
                    });
                }
            }

            await next(context).ConfigureAwait(false);
        });
    }

    /// <summary>Maps the <c>/api/v1</c> endpoints.</summary>
    public static IEndpointRouteBuilder MapCoordinatorApi(this IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var api = app.MapGroup("/api/v1");
        api.MapPost("/models", UploadModelAsync).DisableAntiforgery()
            .WithBodyLimit(MaxModelBytes, "A model upload may be at most 1 GiB.");
        api.MapGet("/models", (ModelRegistry registry, CancellationToken ct) => registry.ListAsync(ct));
        api.MapPost("/jobs", (HttpRequest request, IClusterJobs store, ModelRegistry registry, JobDataset dataset, JobViews views, IHostApplicationLifetime lifetime, CancellationToken ct) =>
                SubmitJobAsync(request.Body, store, registry, dataset, views, lifetime, ct))
            .WithBodyLimit(MaxSubmissionBytes, $"A job submission may be at most 4 MiB and list at most {MaxInlineItems} items inline; list more in a manifest blob (inputs.manifest).");
        api.MapGet("/jobs", ListJobsAsync);
        api.MapGet("/jobs/{id:guid}", GetJobAsync);
        api.MapPost("/jobs/{id:guid}/cancel", CancelJobAsync);
        api.MapGet("/jobs/{id:guid}/events", WatchJobAsync);
        api.MapGet("/jobs/{id:guid}/metrics", GetMetricsAsync);
        api.MapGet("/jobs/{id:guid}/results", GetResultsAsync);
        api.MapGet("/jobs/{id:guid}/blobs/{*path}", GetBlobAsync);
        api.MapGet("/jobs/{id:guid}/inputs/{*item}", GetInputAsync);
        api.MapGet("/workers", ListWorkersAsync);
        api.MapGet("/worker/models/{sha256}", (string sha256, IBlobStore blobs, CancellationToken ct) => StreamBlobAsync(blobs, BlobLayout.Model(sha256), ct));
        return app;
    }

    private static async Task<IResult> UploadModelAsync(HttpRequest request, string? key, ModelRegistry registry, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(key))
        {
            return BadRequest("key: give the model's key as ?key=NAME.");
        }

        byte[] onnx;
        byte[]? card = null;
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = MaxModelBytes }, ct).ConfigureAwait(false);
            if (form.Files.GetFile("model") is not { } model)
            {
                return BadRequest("model: the multipart body has no 'model' file.");
            }

            onnx = await ReadAsync(model, ct).ConfigureAwait(false);
            card = form.Files.GetFile("card") is { } c ? await ReadAsync(c, ct).ConfigureAwait(false) : null;
        }
        else
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer, ct).ConfigureAwait(false);
            onnx = buffer.ToArray();
        }

        if (onnx.Length == 0)
        {
            return BadRequest("model: the ONNX file is empty.");
        }

        if (await ModelUploadCheck.ProblemAsync(onnx, card, ct).ConfigureAwait(false) is { } problem)
        {
            return BadRequest(problem);
        }

        try
        {
            return Results.Ok(await registry.RegisterAsync(key, onnx, card, ct).ConfigureAwait(false));
        }
        catch (ArgumentException e)
        {
            return BadRequest(e.Message);
        }
    }

    /// <summary>Creates a job from a JobSubmission document (the REST API's body, or the API grain's argument).</summary>
    internal static async Task<IResult> SubmitJobAsync(Stream body, IClusterJobs store, ModelRegistry registry, JobDataset dataset, JobViews views,
        IHostApplicationLifetime lifetime, CancellationToken ct)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return Results.Problem(statusCode: 503, title: "Draining", detail: "The coordinator is shutting down and accepts no jobs.");
        }

        JobSubmission? job;
        try
        {
            job = await JsonSerializer.DeserializeAsync<JobSubmission>(body, SalientJson.Options, ct).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            return BadRequest($"body: not a JobSubmission ({e.Message}).");
        }

        if (job is null)
        {
            return BadRequest("body: a JobSubmission object is required.");
        }

        if (Validate(job) is { } problem)
        {
            return BadRequest(problem);
        }

        // A deprecated form is stored in its current one, so workers read one syntax; the client gets a note.
        var warnings = new List<string>();
        var model = ModelRef.None;
        if (JobKinds.Get(job.Kind).UsesModel)
        {
            job = job with { Targets = JobSpecs.PipelineOptionsOf(job, warnings).Targets };
            if (await registry.GetAsync(job.Model!, ct).ConfigureAwait(false) is not { } registered)
            {
                return BadRequest($"model: no model '{job.Model}' is registered (POST /api/v1/models).");
            }

            model = new ModelRef(registered.Key, registered.Uri, registered.Sha256);
        }

        IReadOnlyList<string> items;
        try
        {
            items = await dataset.ListAsync(job.Inputs, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BlobNotFoundException or InvalidDataException or ArgumentException)
        {
            return BadRequest($"inputs: {e.Message}");
        }

        if (items.Count == 0)
        {
            return BadRequest("inputs: no items found.");
        }

        // A manifest's lines name blobs relative to it: each must still be a name the store accepts.
        if (job.Inputs.Manifest is { } manifest && items.Select(BlobStore.NameProblem).FirstOrDefault(p => p is not null) is { } badItem)
        {
            return BadRequest($"inputs.manifest: '{manifest}' lists an item that is not a blob name: {badItem}");
        }

        var id = job.Id ?? Guid.CreateVersion7();
        await store.CreateJobAsync(new JobRequest
        {
            Id = id,
            Kind = job.Kind,
            Spec = JsonSerializer.SerializeToElement(job with { Id = id }, SalientJson.Options),
            Model = model,
            Items = items,
            ShardSize = job.ShardSize,
            Priority = job.Priority,
            MaxAttempts = job.MaxAttempts,
        }, ct).ConfigureAwait(false);
        var created = TypedResults.Created($"/api/v1/jobs/{id}", await views.GetAsync(id, ct).ConfigureAwait(false));
        return warnings.Count == 0 ? created : new WithWarnings<Job>(created, warnings);
    }

    /// <summary>
    /// A result with deprecation notes as <c>Warning: 299 - "..."</c> headers (RFC 9110's miscellaneous
    /// persistent warning), keeping the status and value the API grain's reply reads.
    /// </summary>
    private sealed class WithWarnings<T>(Created<T> inner, IReadOnlyList<string> warnings) : IResult, IStatusCodeHttpResult, IValueHttpResult
    {
        public int? StatusCode => inner.StatusCode;

        public object? Value => inner.Value;

        public Task ExecuteAsync(HttpContext httpContext)
        {
            foreach (var warning in warnings)
            {
                httpContext.Response.Headers.Append("Warning", $"299 - \"{warning.Replace("\"", "'", StringComparison.Ordinal)}\"");
            }

            return inner.ExecuteAsync(httpContext);
        }
    }

    /// <summary>The first problem of a submission, naming the field, or null: its kind's checks, then the shard limits.</summary>
    public static string? Validate(JobSubmission job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return JobKinds.TryGet(job.Kind, out var kind)
            ? kind.Validate(job) ?? LimitsProblem(job)
            : $"kind: '{job.Kind}' is not one of {string.Join(", ", JobKinds.Names)}.";
    }

    private static string? LimitsProblem(JobSubmission job) => job switch
    {
        { ShardSize: < 1 or > MaxShardSize } => $"shard_size: must lie in [1, {MaxShardSize}].",
        { MaxAttempts: < 1 or > 100 } => "max_attempts: must lie in [1, 100].",
        _ => null,
    };

    internal static async Task<IResult> GetJobAsync(Guid id, JobViews views, CancellationToken ct) =>
        await views.GetAsync(id, ct).ConfigureAwait(false) is { } job ? Results.Ok(job) : UnknownJob(id);

    internal static async Task<IResult> ListJobsAsync(string? state, int? limit, IClusterJobs store, JobViews views, CancellationToken ct)
    {
        JobState? filter = null;
        if (state is not null)
        {
            if (!Enum.TryParse<JobState>(state, ignoreCase: true, out var parsed) || int.TryParse(state, out _))
            {
                return BadRequest($"state: '{state}' is not queued, running, succeeded, failed or cancelled.");
            }

            filter = parsed;
        }

        if (limit is < 1 or > 1000)
        {
            return BadRequest("limit: must lie in [1, 1000].");
        }

        var jobs = await store.ListJobsAsync(filter, limit ?? 100, ct).ConfigureAwait(false);
        var result = new List<Job>(jobs.Count);
        foreach (var job in jobs)
        {
            result.Add(await views.ViewAsync(job, ct).ConfigureAwait(false));
        }

        return Results.Ok(result);
    }

    internal static async Task<IResult> CancelJobAsync(Guid id, IClusterJobs store, JobViews views, CancellationToken ct)
    {
        if (await store.GetJobAsync(id, ct).ConfigureAwait(false) is null)
        {
            return UnknownJob(id);
        }

        if (!await store.CancelJobAsync(id, ct).ConfigureAwait(false))
        {
            var job = await views.GetAsync(id, ct).ConfigureAwait(false);
            return Results.Problem(statusCode: 409, title: "Conflict", detail: $"Job {id} already finished ({job?.State}).");
        }

        return Results.Ok(await views.GetAsync(id, ct).ConfigureAwait(false));
    }

    private static async Task WatchJobAsync(Guid id, HttpContext context, JobViews views, CoordinatorOptions options, IHostApplicationLifetime lifetime)
    {
        // A stopping coordinator ends its streams at once (clients reconnect to its successor) instead of
        // holding its shutdown until the drain timeout.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        var ct = stopping.Token;
        var job = await views.GetAsync(id, ct).ConfigureAwait(false);
        if (job is null)
        {
            await UnknownJob(id).ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        string? last = null;
        try
        {
            while (true)
            {
                var data = JsonSerializer.Serialize(job, SalientJson.Options);
                if (data != last)
                {
                    await context.Response.WriteAsync($"event: progress\ndata: {data}\n\n", ct).ConfigureAwait(false);
                    last = data;
                }

                if (job.IsFinished)
                {
                    await context.Response.WriteAsync($"event: done\ndata: {data}\n\n", ct).ConfigureAwait(false);
                    return;
                }

                await context.Response.Body.FlushAsync(ct).ConfigureAwait(false);
                await Task.Delay(options.EventInterval, ct).ConfigureAwait(false);
                job = await views.GetAsync(id, ct).ConfigureAwait(false) ?? job;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away, or the coordinator is stopping.
        }
    }

    internal static async Task<IResult> GetMetricsAsync(Guid id, IClusterJobs store, CancellationToken ct)
    {
        var job = await store.GetJobAsync(id, ct).ConfigureAwait(false);
        if (job is null)
        {
            return UnknownJob(id);
        }

        // A running job's figures so far, merged as the store will merge them at the end.
        var metrics = job.Metrics ?? new ShardReportMerger().Merge(await store.GetShardMetricsAsync(id, ct).ConfigureAwait(false));
        return Results.Text(metrics.ToJsonString(), "application/json");
    }

    private static async Task<IResult> GetResultsAsync(Guid id, int? after, int? limit, IClusterJobs store, JobViews views, CancellationToken ct)
    {
        if (after is < 0 || limit is < 1 or > 10_000)
        {
            return BadRequest("after must be at least 0 and limit lie in [1, 10000].");
        }

        if (await store.GetJobAsync(id, ct).ConfigureAwait(false) is null)
        {
            return UnknownJob(id);
        }

        var lines = await views.ReadRecordsAsync(id, ct).ConfigureAwait(false);
        var page = lines.Skip(after ?? 0).Take(limit ?? 1000);
        return Results.Text("[" + string.Join(",", page) + "]", "application/json");
    }

    private static Task<IResult> GetBlobAsync(Guid id, string path, IBlobStore blobs, CancellationToken ct) =>
        path.Split('/').Any(p => p is "" or "." or "..")
            ? Task.FromResult(BadRequest($"path: '{path}' is not a blob path under the job."))
            : StreamBlobAsync(blobs, BlobLayout.Job(id) + path, ct);

    private static async Task<IResult> GetInputAsync(Guid id, string item, IClusterJobs store, IBlobStore blobs, CancellationToken ct)
    {
        var job = await store.GetJobAsync(id, ct).ConfigureAwait(false);
        if (job is null)
        {
            return UnknownJob(id);
        }

        // Only the job's own inputs: the shard lists hold every item key.
        var shards = await store.ListShardsAsync(id, ct).ConfigureAwait(false);
        return shards.Any(s => s.Items.Contains(item, StringComparer.Ordinal))
            ? await StreamBlobAsync(blobs, item, ct).ConfigureAwait(false)
            : Results.Problem(statusCode: 404, title: "Not Found", detail: $"'{item}' is not an input of job {id}.");
    }

    private static async Task<IResult> StreamBlobAsync(IBlobStore blobs, string name, CancellationToken ct)
    {
        try
        {
            var stream = await blobs.OpenReadAsync(name, ct).ConfigureAwait(false);
            var type = name.EndsWith(".png", StringComparison.OrdinalIgnoreCase) ? "image/png"
                : name.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase) ? "image/jpeg"
                : name.EndsWith(".json", StringComparison.Ordinal) || name.EndsWith(".jsonl", StringComparison.Ordinal) ? "application/json"
                : "application/octet-stream";
            return Results.Stream(stream, type);
        }
        catch (Exception e) when (e is BlobNotFoundException or ArgumentException)
        {
            return Results.Problem(statusCode: 404, title: "Not Found", detail: $"No blob '{name}'.");
        }
    }

    internal static async Task<IResult> ListWorkersAsync(IClusterJobs store, CancellationToken ct)
    {
        var workers = await store.ListWorkersAsync(ct).ConfigureAwait(false);
        var counts = await store.GetCountsAsync(ct).ConfigureAwait(false);
        return Results.Ok(workers.Select(w => new WorkerSummary(w.Id, w.Name, [.. w.Devices.Select(d => d.Name)], w.Models.Keys ?? ["any"], w.Capacity,
            w.State.ToString().ToLowerInvariant(), w.HeartbeatAt, counts.LeasesByWorker.GetValueOrDefault(w.Id))));
    }

    private static async Task<byte[]> ReadAsync(IFormFile file, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await file.CopyToAsync(buffer, ct).ConfigureAwait(false);
        return buffer.ToArray();
    }

    private static IResult BadRequest(string detail) => Results.Problem(statusCode: 400, title: "Bad Request", detail: detail);

    private static IResult UnknownJob(Guid id) => Results.Problem(statusCode: 404, title: "Not Found", detail: $"No job {id}.");

    /// <summary>An endpoint's answer as the API grain returns it: its status and its JSON body.</summary>
    internal static ApiReply ToReply(IResult result) => new(
        (result as IStatusCodeHttpResult)?.StatusCode ?? StatusCodes.Status200OK,
        result switch
        {
            ContentHttpResult content => content.ResponseContent ?? "",
            IValueHttpResult { Value: { } value } => JsonSerializer.Serialize(value, value.GetType(), SalientJson.Options),
            _ => "null",
        });

    /// <summary>Registers what the endpoints need: the registry, datasets and job views.</summary>
    internal static IServiceCollection AddCoordinatorServices(this IServiceCollection services) => services
        .AddSingleton(sp => new ModelRegistry(sp.GetRequiredService<IBlobStore>()))
        .AddSingleton(sp => new JobDataset(sp.GetRequiredService<IBlobStore>()))
        .AddSingleton(sp => new JobViews(sp.GetRequiredService<IClusterJobs>(), sp.GetRequiredService<IBlobStore>(), TimeProvider.System));
}
