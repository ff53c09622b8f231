using System.Net;

namespace Salient.Client;

/// <summary>The coordinator answered with an error (an <c>application/problem+json</c> body, when it sent one).</summary>
public sealed class SalientApiException : Exception
{
    /// <summary>An error with the answer's status and problem details.</summary>
    public SalientApiException(HttpStatusCode statusCode, string? title, string? detail)
        : base($"{(int)statusCode} {title ?? statusCode.ToString()}{(detail is null ? "" : ": " + detail)}")
    {
        StatusCode = statusCode;
        Title = title;
        Detail = detail;
    }

    /// <summary>The error a problem document describes (<c>title</c>, <c>detail</c>); the status alone when it is not one.</summary>
    public static SalientApiException FromProblem(HttpStatusCode statusCode, System.Text.Json.Nodes.JsonObject? problem) =>
        new(statusCode, problem?["title"]?.GetValue<string>(), problem?["detail"]?.GetValue<string>());

    /// <summary>The HTTP status.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The problem's title.</summary>
    public string? Title { get; }

    /// <summary>The problem's detail, naming the bad field or state.</summary>
    public string? Detail { get; }
}
