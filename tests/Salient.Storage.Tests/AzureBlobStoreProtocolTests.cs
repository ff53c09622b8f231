using System.Net;
using System.Security.Cryptography;
using Azure.Core.Pipeline;
using Salient.Storage;
using Salient.Storage.Internal;

namespace Salient.Storage.Tests;

/// <summary>The Azure store's retry settings, error mapping and request conditions against a scripted service.</summary>
public sealed class AzureBlobStoreProtocolTests
{
    private static readonly AzureBlobStoreOptions FastRetries = new() { MaxRetries = 3, RetryBaseDelay = TimeSpan.FromMilliseconds(1), RetryMaxDelay = TimeSpan.FromMilliseconds(5) };

    private static AzureBlobStore StoreOn(FakeBlobService service) => new(
        AzureContainerAddress.FromConnectionString("UseDevelopmentStorage=true;Container=jobs"),
        FastRetries,
        client => client.Transport = new HttpClientTransport(new HttpClient(service)));

    [Fact]
    public async Task A_503_then_a_200_is_retried_to_success()
    {
        var service = new FakeBlobService(FakeBlobService.Status(HttpStatusCode.ServiceUnavailable), FakeBlobService.Status(HttpStatusCode.OK));

        Assert.True(await StoreOn(service).ExistsAsync("a/b"));
        Assert.Equal(2, service.Requests.Count);
    }

    [Fact]
    public async Task Network_errors_and_429_are_retried()
    {
        var service = new FakeBlobService(FakeBlobService.NetworkError(), FakeBlobService.Status(HttpStatusCode.TooManyRequests), FakeBlobService.Status(HttpStatusCode.Accepted));

        Assert.True(await StoreOn(service).DeleteAsync("a/b"));
        Assert.Equal(3, service.Requests.Count);
    }

    [Fact]
    public async Task A_timed_out_attempt_is_retried()
    {
        var service = new FakeBlobService(FakeBlobService.TimedOut(), FakeBlobService.Status(HttpStatusCode.OK));
        Assert.True(await StoreOn(service).ExistsAsync("a"));
        Assert.Equal(2, service.Requests.Count);
    }

    [Fact]
    public async Task Client_errors_are_not_retried()
    {
        var notFound = new FakeBlobService(FakeBlobService.Status(HttpStatusCode.NotFound, "BlobNotFound"), FakeBlobService.Status(HttpStatusCode.OK));
        var error = await Assert.ThrowsAsync<BlobNotFoundException>(() => StoreOn(notFound).ReadAllBytesAsync("jobs/1/manifest.jsonl"));
        Assert.Single(notFound.Requests);
        Assert.Contains("'jobs/1/manifest.jsonl'", error.Message, StringComparison.Ordinal);
        Assert.Equal("BlobNotFound", error.ErrorCode);

        var forbidden = new FakeBlobService(FakeBlobService.Status(HttpStatusCode.Forbidden, "AuthorizationFailure"), FakeBlobService.Status(HttpStatusCode.OK));
        var denied = await Assert.ThrowsAsync<BlobStoreException>(() => StoreOn(forbidden).DeleteAsync("x"));
        Assert.Single(forbidden.Requests);
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Contains("403", denied.Message, StringComparison.Ordinal);
        Assert.Contains("AuthorizationFailure", denied.Message, StringComparison.Ordinal);
        Assert.Contains("'x'", denied.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Spent_retries_report_the_last_status_and_error_code()
    {
        var service = new FakeBlobService(FakeBlobService.Status(HttpStatusCode.InternalServerError, "InternalError"));

        var error = await Assert.ThrowsAsync<BlobStoreException>(() => StoreOn(service).ExistsAsync("a"));

        Assert.Equal(FastRetries.MaxRetries + 1, service.Requests.Count);
        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Equal("InternalError", error.ErrorCode);
    }

    [Fact]
    public async Task Spent_retries_on_network_errors_name_the_blob_and_the_attempts()
    {
        var service = new FakeBlobService(FakeBlobService.NetworkError());

        var error = await Assert.ThrowsAsync<BlobStoreException>(() => StoreOn(service).ExistsAsync("a/b"));

        Assert.Contains("'a/b'", error.Message, StringComparison.Ordinal);
        Assert.Contains("4 attempts", error.Message, StringComparison.Ordinal);
        var attempts = Assert.IsType<AggregateException>(error.InnerException);
        Assert.All(attempts.InnerExceptions, attempt => Assert.IsType<HttpRequestException>(attempt.InnerException));
    }

    [Fact]
    public async Task Uploads_carry_Content_MD5_and_a_create_only_condition_unless_overwriting()
    {
        var service = new FakeBlobService(FakeBlobService.Status(HttpStatusCode.Created));
        var store = StoreOn(service);

        await store.PutAsync("a.png", "png"u8.ToArray(), "image/png");
        await store.PutAsync("a.png", "png"u8.ToArray(), overwrite: true);

        var (create, put, replace) = (service.Requests[0], service.Requests[1], service.Requests[2]);
        Assert.Equal("?restype=container", create.RequestUri!.Query);
#pragma warning disable CA5351 // Content-MD5 is the service's transfer checksum, not a security measure.
        Assert.Equal(MD5.HashData("png"u8), put.Content!.Headers.ContentMD5);
#pragma warning restore CA5351
        Assert.Equal("image/png", string.Join(",", put.Headers.GetValues("x-ms-blob-content-type")));
        Assert.Equal("*", string.Join(",", put.Headers.GetValues("If-None-Match")));
        Assert.False(replace.Headers.Contains("If-None-Match"));
        Assert.StartsWith("SharedKey devstoreaccount1:", put.Headers.Authorization!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_create_only_conflict_is_reported_as_already_exists()
    {
        var service = new FakeBlobService(FakeBlobService.Status(HttpStatusCode.Conflict, "ContainerAlreadyExists"), FakeBlobService.Status(HttpStatusCode.Conflict, "BlobAlreadyExists"));

        var error = await Assert.ThrowsAsync<BlobAlreadyExistsException>(() => StoreOn(service).PutAsync("a", new byte[1]));

        Assert.Equal("BlobAlreadyExists", error.ErrorCode);
        Assert.Equal(2, service.Requests.Count);
    }
}
