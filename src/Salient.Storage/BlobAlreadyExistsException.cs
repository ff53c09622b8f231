using System.Net;

namespace Salient.Storage;

/// <summary>A create-only put (overwrite false) found the blob already there and left it untouched.</summary>
public sealed class BlobAlreadyExistsException : BlobStoreException
{
    /// <summary>Creates the exception for blob <paramref name="blobName"/> in <paramref name="location"/>.</summary>
    public BlobAlreadyExistsException(string blobName, string location, HttpStatusCode? statusCode = null, string? errorCode = null)
        : base($"Blob '{blobName}' already exists in {location}; it is only replaced when overwriting is asked for.", blobName, statusCode, errorCode)
    {
    }

    /// <summary>Creates the exception with a message that already names the blob.</summary>
    public BlobAlreadyExistsException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message that already names the blob, and its cause.</summary>
    public BlobAlreadyExistsException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with an empty message.</summary>
    public BlobAlreadyExistsException()
    {
    }
}
