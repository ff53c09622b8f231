using System.Net;

namespace Salient.Storage.Tests;

/// <summary>An HTTP handler that answers each request with the next scripted response (or exception) and records the requests.</summary>
internal sealed class FakeBlobService(params Func<HttpRequestMessage, HttpResponseMessage>[] answers) : HttpMessageHandler
{
    private int _next;

    public List<HttpRequestMessage> Requests { get; } = [];

    public static Func<HttpRequestMessage, HttpResponseMessage> Status(HttpStatusCode status, string? errorCode = null) => _ =>
    {
        var response = new HttpResponseMessage(status) { Content = new ByteArrayContent([]) };
        if (errorCode is not null)
        {
            response.Headers.TryAddWithoutValidation("x-ms-error-code", errorCode);
        }

        return response;
    };

    public static Func<HttpRequestMessage, HttpResponseMessage> Body(byte[] body, byte[]? contentMd5) => _ =>
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentMD5 = contentMd5;
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    };

    public static Func<HttpRequestMessage, HttpResponseMessage> NetworkError() => _ => throw new HttpRequestException("connection reset");

    /// <summary>What HttpClient throws when an attempt's own timeout fires.</summary>
    public static Func<HttpRequestMessage, HttpResponseMessage> TimedOut() => _ => throw new TaskCanceledException("attempt timed out");

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Requests.Add(request);
        var answer = answers[Math.Min(_next++, answers.Length - 1)];
        return Task.FromResult(answer(request));
    }
}
