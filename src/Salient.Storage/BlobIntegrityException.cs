namespace Salient.Storage;

/// <summary>
/// A blob's bytes as read do not match the checksum the store keeps or sends for them (Azure's
/// transfer checksums, the local store's CRC-64).
/// </summary>
public sealed class BlobIntegrityException : BlobStoreException
{
    /// <summary>Creates the exception for blob <paramref name="blobName"/> in <paramref name="location"/>; <paramref name="detail"/> says which checksums differ.</summary>
    public BlobIntegrityException(string blobName, string location, string detail, Exception? innerException = null)
        : base($"Blob '{blobName}' in {location} is corrupt: {detail}", blobName, null, null, innerException)
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
