using System.Net;

namespace Salient.Storage;

/// <summary>
/// A blob operation failed. The message names the blob (or container) and, for a remote store, the
/// HTTP status and the service's error code, which are also given as properties.
/// </summary>
public class BlobStoreException : Exception
{
    /// <summary>Creates the exception with a message that already names the blob.</summary>
    public BlobStoreException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message that already names the blob, and its cause.</summary>
    public BlobStoreException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with an empty message.</summary>
    public BlobStoreException()
    {
    }

    /// <summary>Creates the exception for <paramref name="blobName"/> with the service's answer.</summary>
    public BlobStoreException(string message, string? blobName, HttpStatusCode? statusCode, string? errorCode, Exception? innerException = null)
        : base(message, innerException)
    {
        BlobName = blobName;
        StatusCode = statusCode;
        ErrorCode = errorCode;
    }

    /// <summary>The blob the operation was about; null for container-level operations.</summary>
    public string? BlobName { get; }

    /// <summary>The HTTP status of a remote store's last answer; null when there was none.</summary>
    public HttpStatusCode? StatusCode { get; }

    /// <summary>The service's error code (Azure's <c>x-ms-error-code</c>, e.g. <c>AuthorizationFailure</c>), when it gave one.</summary>
    public string? ErrorCode { get; }
}
