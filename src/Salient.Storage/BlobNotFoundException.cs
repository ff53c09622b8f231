using System.Net;

namespace Salient.Storage;

/// <summary>The blob asked for does not exist (its container may not exist either).</summary>
public sealed class BlobNotFoundException : BlobStoreException
{
    /// <summary>Creates the exception for blob <paramref name="blobName"/> missing from <paramref name="location"/>.</summary>
    public BlobNotFoundException(string blobName, string location, string? errorCode = null)
        : base($"Blob '{blobName}' does not exist in {location}" + (errorCode is null ? "." : $" (404 {errorCode})."), blobName, HttpStatusCode.NotFound, errorCode)
    {
    }

    /// <summary>Creates the exception with a message that already names the blob.</summary>
    public BlobNotFoundException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message that already names the blob, and its cause.</summary>
    public BlobNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with an empty message.</summary>
    public BlobNotFoundException()
    {
    }
}
