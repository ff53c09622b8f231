using System.Globalization;
using System.Net;

namespace Salient.Storage.Internal;

/// <summary>
/// Sends Blob service requests to one container: stamps version and date, authorizes (Shared Key
/// signature or SAS token), retries transient failures with exponential backoff and jitter, and
/// turns error answers into exceptions naming the blob, the status and the service's error code.
/// </summary>
internal sealed class AzureTransport(HttpClient http, AzureContainerAddress address, AzureBlobStoreOptions options)
{
    /// <summary>The REST API version every request asks for.</summary>
    internal const string ApiVersion = "2021-08-06";

    internal string Location { get; } = address.ContainerUri.AbsoluteUri;

    /// <summary>The URI of blob <paramref name="blobName"/> (the container itself when null) with <paramref name="query"/> and the SAS token.</summary>
    internal Uri UriFor(string? blobName, string query = "")
    {
        var path = blobName is null ? string.Empty : "/" + string.Join('/', blobName.Split('/').Select(Uri.EscapeDataString));
        var fullQuery = string.Join('&', new[] { query, address.SasToken }.Where(q => !string.IsNullOrEmpty(q)));
        return new Uri(Location + path + (fullQuery.Length > 0 ? "?" + fullQuery : string.Empty));
    }

    /// <summary>
    /// Sends the request <paramref name="build"/> makes (afresh for each attempt) until it gets an
    /// answer that is not transient or the retries are spent, and returns that answer whatever its
    /// status. Network errors and timeouts that outlast the retries throw <see cref="BlobStoreException"/>.
    /// </summary>
    internal async Task<HttpResponseMessage> SendAsync(string? blobName, Func<HttpRequestMessage> build, CancellationToken cancellationToken, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        for (var attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var request = build();
            request.Headers.TryAddWithoutValidation("x-ms-version", ApiVersion);
            request.Headers.TryAddWithoutValidation("x-ms-date", DateTime.UtcNow.ToString("R", CultureInfo.InvariantCulture));
            address.Signer?.Authorize(request);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.RequestTimeout);
            HttpResponseMessage? response = null;
            Exception? failure = null;
            try
            {
                response = await http.SendAsync(request, completion, timeout.Token).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                failure = e;
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                failure = new TimeoutException($"no answer within {options.RequestTimeout.TotalSeconds:0.#} s", e);
            }

            if (response is not null && (!IsTransient(response.StatusCode) || attempt >= options.MaxRetries))
            {
                return response;
            }

            response?.Dispose();
            if (failure is not null && attempt >= options.MaxRetries)
            {
                throw new BlobStoreException($"{request.Method} of {Describe(blobName)} failed after {attempt + 1} attempts: {failure.Message}", blobName, null, null, failure);
            }

            await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The exception for an error answer: names the operation, the blob, the status, and the service's error code and message.</summary>
    internal async Task<BlobStoreException> ErrorAsync(HttpResponseMessage response, string? blobName, string operation, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        var (bodyCode, message) = AzureXml.Error(body);
        var code = ErrorCode(response) ?? bodyCode;
        var detail = string.Join(": ", new[] { code, message }.Where(s => !string.IsNullOrEmpty(s)));
        return new BlobStoreException(
            $"{operation} of {Describe(blobName)} failed: {(int)response.StatusCode} {response.ReasonPhrase}{(detail.Length > 0 ? ", " + detail : string.Empty)}.",
            blobName,
            response.StatusCode,
            code);
    }

    /// <summary>The service's x-ms-error-code header (also sent on HEAD answers, which have no body).</summary>
    internal static string? ErrorCode(HttpResponseMessage response) =>
        response.Headers.TryGetValues("x-ms-error-code", out var values) ? values.FirstOrDefault() : null;

    internal string Describe(string? blobName) => blobName is null ? $"container {Location}" : $"blob '{blobName}' in {Location}";

    private static bool IsTransient(HttpStatusCode status) => status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests
        or HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;

    /// <summary>Base delay doubled per attempt, capped, then scaled by a random factor in [0.5, 1) so that clients that failed together retry apart.</summary>
    private TimeSpan Backoff(int attempt)
    {
        var exponential = Math.Min(options.RetryMaxDelay.TotalMilliseconds, options.RetryBaseDelay.TotalMilliseconds * Math.Pow(2, attempt));
        return TimeSpan.FromMilliseconds(exponential * (0.5 + (Random.Shared.NextDouble() / 2)));
    }
}
