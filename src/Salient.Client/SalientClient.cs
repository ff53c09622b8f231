using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Salient.Client;

/// <summary>
/// Client of a Salient coordinator's REST API (docs/api.md). Requests go through the standard .NET HTTP
/// resilience strategies (Microsoft.Extensions.Http.Resilience): transient failures (connection errors,
/// 408, 429, 5xx, an attempt that takes over <see cref="AttemptTimeout"/>) are retried with exponential
/// backoff for about <see cref="RetryWindow"/>, behind a circuit breaker, so a restarting coordinator is
/// ridden out; event streams reconnect. Every method that changes state is safe to retry (job submissions
/// carry an id).
/// </summary>
public sealed class SalientClient : IDisposable
{
    /// <summary>About how long a request keeps being retried while the coordinator is unreachable.</summary>
    public static readonly TimeSpan RetryWindow = TimeSpan.FromMinutes(4);

    /// <summary>How long one attempt may take until the answer's headers arrive.</summary>
    public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(100);

    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(10);

    /// <summary>Backoff doubles from <see cref="FirstBackoff"/> to <see cref="MaxBackoff"/>, then stays: this many attempts fill the window.</summary>
    private static readonly int MaxRetries = 6 + (int)Math.Ceiling((RetryWindow - (FirstBackoff * 63)) / MaxBackoff);

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ResiliencePipeline<HttpResponseMessage> _resilience = CreatePipeline();

    /// <summary>A client of the coordinator at <paramref name="baseUri"/>.</summary>
    /// <param name="baseUri">e.g. <c>http://localhost:8080/</c>.</param>
    /// <param name="apiKey">Sent as <c>Authorization: Bearer</c>; null when the API is open.</param>
    /// <param name="httpClient">A client to send through (not disposed with this one); a new one when null.</param>
    public SalientClient(Uri baseUri, string? apiKey, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(baseUri);
        _ownsHttp = httpClient is null;
        _http = httpClient ?? new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        BaseUri = baseUri.AbsoluteUri.EndsWith('/') ? baseUri : new Uri(baseUri.AbsoluteUri + "/");
        ApiKey = apiKey;
    }

    /// <summary>The coordinator's base address.</summary>
    public Uri BaseUri { get; }

    private string? ApiKey { get; }

    /// <summary>Uploads an ONNX model (and its model card) under <paramref name="key"/>.</summary>
    public async Task<ModelInfo> UploadModelAsync(string key, Stream model, Stream? card = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentNullException.ThrowIfNull(model);
        var modelBytes = await ReadAllAsync(model, cancellationToken).ConfigureAwait(false);
        var cardBytes = card is null ? null : await ReadAllAsync(card, cancellationToken).ConfigureAwait(false);
        return await SendAsync<ModelInfo>(() =>
        {
            var form = new MultipartFormDataContent
            {
                { new ByteArrayContent(modelBytes), "model", "model.onnx" },
            };
            if (cardBytes is not null)
            {
                form.Add(new ByteArrayContent(cardBytes), "card", "model.json");
            }

            return new HttpRequestMessage(HttpMethod.Post, $"api/v1/models?key={Uri.EscapeDataString(key)}") { Content = form };
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The registered models.</summary>
    public Task<IReadOnlyList<ModelInfo>> ListModelsAsync(CancellationToken cancellationToken = default) =>
        GetAsync<IReadOnlyList<ModelInfo>>("api/v1/models", cancellationToken);

    /// <summary>Submits a job; a submission without an id gets one, so that retries create one job.</summary>
    public Task<Job> SubmitJobAsync(JobSubmission submission, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(submission);
        var withId = submission.WithId();
        return SendAsync<Job>(() => new HttpRequestMessage(HttpMethod.Post, "api/v1/jobs") { Content = JsonContent.Create(withId, options: SalientJson.Options) },
            cancellationToken);
    }

    /// <summary>A job and its progress.</summary>
    public Task<Job> GetJobAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        GetAsync<Job>($"api/v1/jobs/{jobId}", cancellationToken);

    /// <summary>The newest jobs first, optionally only those in <paramref name="state"/>.</summary>
    public Task<IReadOnlyList<Job>> ListJobsAsync(string? state = null, int limit = 100, CancellationToken cancellationToken = default) =>
        GetAsync<IReadOnlyList<Job>>($"api/v1/jobs?limit={limit}{(state is null ? "" : "&state=" + Uri.EscapeDataString(state))}", cancellationToken);

    /// <summary>Cancels a job; a <see cref="SalientApiException"/> with 409 when it already finished.</summary>
    public Task<Job> CancelJobAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        SendAsync<Job>(() => new HttpRequestMessage(HttpMethod.Post, $"api/v1/jobs/{jobId}/cancel"), cancellationToken);

    /// <summary>The job's merged metrics document.</summary>
    public Task<JsonObject> GetMetricsAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        GetAsync<JsonObject>($"api/v1/jobs/{jobId}/metrics", cancellationToken);

    /// <summary>One page of the job's manifest records: at most <paramref name="limit"/> after the first <paramref name="after"/>.</summary>
    public Task<IReadOnlyList<ResultRecord>> GetResultsAsync(Guid jobId, int after = 0, int limit = 1000, CancellationToken cancellationToken = default) =>
        GetAsync<IReadOnlyList<ResultRecord>>($"api/v1/jobs/{jobId}/results?after={after}&limit={limit}", cancellationToken);

    /// <summary>Every manifest record of the job, fetched page by page.</summary>
    public async IAsyncEnumerable<ResultRecord> GetAllResultsAsync(Guid jobId, int pageSize = 1000, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (var after = 0; ; )
        {
            var page = await GetResultsAsync(jobId, after, pageSize, cancellationToken).ConfigureAwait(false);
            foreach (var record in page)
            {
                yield return record;
            }

            if (page.Count < pageSize)
            {
                yield break;
            }

            after += page.Count;
        }
    }

    /// <summary>
    /// Copies a blob of the job (a name from a record's <see cref="ResultRecord.Outputs"/>, relative to
    /// <c>jobs/&lt;id&gt;/</c>) to <paramref name="destination"/>.
    /// </summary>
    public Task DownloadBlobAsync(Guid jobId, string path, Stream destination, CancellationToken cancellationToken = default) =>
        DownloadAsync($"api/v1/jobs/{jobId}/blobs/{EscapePath(path)}", destination, cancellationToken);

    /// <summary>Copies one of the job's input images (a record's <see cref="ResultRecord.Item"/>) to <paramref name="destination"/>.</summary>
    public Task DownloadInputAsync(Guid jobId, string item, Stream destination, CancellationToken cancellationToken = default) =>
        DownloadAsync($"api/v1/jobs/{jobId}/inputs/{EscapePath(item)}", destination, cancellationToken);

    /// <summary>The registered workers.</summary>
    public Task<IReadOnlyList<WorkerSummary>> ListWorkersAsync(CancellationToken cancellationToken = default) =>
        GetAsync<IReadOnlyList<WorkerSummary>>("api/v1/workers", cancellationToken);

    /// <summary>
    /// The job's state now and after every change, until it finishes (server-sent events); a dropped
    /// stream is reopened (through the same retries as every request, so a coordinator that restarts
    /// within <see cref="RetryWindow"/> is ridden out), and the first state of each connection is the current one.
    /// </summary>
    public async IAsyncEnumerable<Job> WatchJobAsync(Guid jobId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // Streams that end before any event, in a row: a server that keeps closing them is an error, not a restart.
        var emptyStreams = 0;
        while (true)
        {
            using var response = await SendWithRetriesAsync(() =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, $"api/v1/jobs/{jobId}/events");
                request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
                return request;
            }, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            using var reader = new StreamReader(stream);
            string? eventName = null;
            var data = new System.Text.StringBuilder();
            var events = 0;
            while (true)
            {
                string? line;
                try
                {
                    line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
                {
                    // The connection broke (the coordinator stopped): reconnect below.
                    line = null;
                }

                if (line is null)
                {
                    break;
                }

                if (line.Length == 0)
                {
                    if (data.Length > 0)
                    {
                        var job = JsonSerializer.Deserialize<Job>(data.ToString(), SalientJson.Options)!;
                        events++;
                        yield return job;
                        if (eventName == "done" || job.IsFinished)
                        {
                            yield break;
                        }
                    }

                    (eventName, data) = (null, data.Clear());
                }
                else if (line.StartsWith("event:", StringComparison.Ordinal))
                {
                    eventName = line[6..].Trim();
                }
                else if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    data.Append(line[5..].TrimStart());
                }
            }

            // The stream ended before the job did: reconnect after a pause.
            emptyStreams = events > 0 ? 0 : emptyStreams + 1;
            if (emptyStreams > MaxRetries)
            {
                throw new IOException($"{BaseUri}: the progress stream of job {jobId} closed {emptyStreams} times in a row without an event.");
            }

            await Task.Delay(Backoff(emptyStreams), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private Task<T> GetAsync<T>(string path, CancellationToken cancellationToken) =>
        SendAsync<T>(() => new HttpRequestMessage(HttpMethod.Get, path), cancellationToken);

    private async Task<T> SendAsync<T>(Func<HttpRequestMessage> request, CancellationToken cancellationToken)
    {
        using var response = await SendWithRetriesAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync<T>(SalientJson.Options, cancellationToken).ConfigureAwait(false)
            ?? throw new JsonException($"{response.RequestMessage?.RequestUri}: the answer is JSON null.");
    }

    private async Task DownloadAsync(string path, Stream destination, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(destination);
        using var response = await SendWithRetriesAsync(() => new HttpRequestMessage(HttpMethod.Get, path), HttpCompletionOption.ResponseHeadersRead, cancellationToken)
            .ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        await response.Content.CopyToAsync(destination, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A blob name as URL path segments, each escaped.</summary>
    private static string EscapePath(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return string.Join('/', name.Split('/').Select(Uri.EscapeDataString));
    }

    /// <summary>
    /// Sends a fresh request from <paramref name="create"/> per attempt through the resilience pipeline; once
    /// retries are spent, a transient answer is returned as is and a network failure is an <see cref="HttpRequestException"/>.
    /// </summary>
    private async Task<HttpResponseMessage> SendWithRetriesAsync(Func<HttpRequestMessage> create, HttpCompletionOption completion, CancellationToken cancellationToken)
    {
        try
        {
            return await _resilience.ExecuteAsync(async ct =>
            {
                using var request = create();
                request.RequestUri = new Uri(BaseUri, request.RequestUri!);
                if (ApiKey is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
                }

                // A body over the endpoint's limit is refused (413) before it is sent.
                request.Headers.ExpectContinue = request.Content is not null;
                return await _http.SendAsync(request, completion, ct).ConfigureAwait(false);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is BrokenCircuitException or TimeoutRejectedException)
        {
            throw new HttpRequestException($"{BaseUri}: the coordinator did not answer within the retries ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Retries (exponential backoff with jitter, honouring Retry-After) around a circuit breaker that fails
    /// fast while most recent attempts failed, around a per-attempt timeout: the standard pipeline's strategies,
    /// with the retries stretched over <see cref="RetryWindow"/>.
    /// </summary>
    private static ResiliencePipeline<HttpResponseMessage> CreatePipeline()
    {
        var retry = new HttpRetryStrategyOptions
        {
            MaxRetryAttempts = MaxRetries,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = FirstBackoff,
            MaxDelay = MaxBackoff,
        };
        var transient = retry.ShouldHandle;
        // An open breaker is the coordinator still being down: wait and try again.
        retry.ShouldHandle = args => args.Outcome.Exception is BrokenCircuitException ? ValueTask.FromResult(true) : transient(args);
        return new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(retry)
            .AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions { MinimumThroughput = 10, FailureRatio = 0.5, BreakDuration = TimeSpan.FromSeconds(5) })
            .AddTimeout(new HttpTimeoutStrategyOptions { Timeout = AttemptTimeout })
            .Build();
    }

    private static TimeSpan Backoff(int attempt) => TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, FirstBackoff.Ticks << Math.Min(attempt - 1, 10)));

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        JsonObject? problem = null;
        try
        {
            problem = await response.Content.ReadFromJsonAsync<JsonObject>(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            // Not a problem document: the status says enough.
        }

        throw SalientApiException.FromProblem(response.StatusCode, problem);
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        return buffer.ToArray();
    }
}
