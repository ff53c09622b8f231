namespace Salient.Storage;

/// <summary>A blob's bytes as read do not match the checksum the store keeps for it (Azure's Content-MD5).</summary>
public sealed class BlobIntegrityException : BlobStoreException
{
    /// <summary>Creates the exception for blob <paramref name="blobName"/> with the two MD5 digests (base64).</summary>
    public BlobIntegrityException(string blobName, string location, string expectedMd5, string actualMd5)
        : base($"Blob '{blobName}' in {location} is corrupt: its Content-MD5 is {expectedMd5}, the bytes read hash to {actualMd5}.", blobName, null, null)
    {
    }

    /// <summary>Creates the exception with a message that already names the blob.</summary>
    public BlobIntegrityException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message that already names the blob, and its cause.</summary>
    public BlobIntegrityException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception with an empty message.</summary>
    public BlobIntegrityException()
    {
    }
}
