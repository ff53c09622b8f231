using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Salient.Cluster.Coordinator;

/// <summary>
/// Request body limits per endpoint: the server's limit is small (<see cref="CoordinatorApi.MaxOtherBytes"/>)
/// and each endpoint that takes a body raises it to its own, answering 413 with a problem document that
/// says the limit when a body exceeds it (by its Content-Length up front, or while it is read).
/// </summary>
internal static class BodyLimits
{
    /// <summary>Limits the endpoint's request body to <paramref name="bytes"/>; <paramref name="advice"/> is the 413's detail.</summary>
    public static RouteHandlerBuilder WithBodyLimit(this RouteHandlerBuilder endpoint, long bytes, string advice) =>
        endpoint.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (http.Request.ContentLength > bytes)
            {
                return TooLarge(advice, http.Request.ContentLength);
            }

            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = bytes;
            }

            try
            {
                return await next(context).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                // A chunked body (no Content-Length) ran past the limit while the handler read it.
                return TooLarge(advice, null);
            }
            catch (InvalidDataException e) when (e.Message.Contains("length limit", StringComparison.OrdinalIgnoreCase))
            {
                // The multipart reader's own limit.
                return TooLarge(advice, null);
            }
        });

    private static IResult TooLarge(string advice, long? length) => Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload Too Large",
        detail: length is { } l ? $"The body is {l} bytes. {advice}" : $"The body is too large. {advice}");
}
