using Azure.Storage;

namespace Salient.Storage;

/// <summary>Tuning of <see cref="AzureBlobStore"/>: upload sizes and parallelism, checksums, retries, timeouts and list paging.</summary>
public sealed class AzureBlobStoreOptions
{
    private const int MiB = 1024 * 1024;

    /// <summary>Blobs up to this many bytes go up in one Put Blob; larger ones in blocks. Default 4 MiB.</summary>
    public int SingleUploadLimit { get; init; } = 4 * MiB;

    /// <summary>The size of each block of a large upload (the last one may be shorter). Default 4 MiB.</summary>
    public int BlockSize { get; init; } = 4 * MiB;

    /// <summary>How many blocks of one upload are in flight at once; memory held is about this times <see cref="BlockSize"/>. Default 4.</summary>
    public int UploadConcurrency { get; init; } = 4;

    /// <summary>
    /// The checksum every upload request carries for the service to check, and every download
    /// request asks the service for (each range of a download is checked as it arrives). Default
    /// MD5, which Azure and Azurite both answer; <see cref="StorageChecksumAlgorithm.StorageCrc64"/>
    /// is cheaper to compute but Azurite does not support it.
    /// </summary>
    public StorageChecksumAlgorithm TransferChecksum { get; init; } = StorageChecksumAlgorithm.MD5;

    /// <summary>How many times a request is retried after a timeout, a network error, or status 408, 429, 500, 502, 503 or 504. Default 5.</summary>
    public int MaxRetries { get; init; } = 5;

    /// <summary>The wait before the first retry; it doubles with each further one, with random jitter. Default 0.5 s.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest wait between two attempts. Default 30 s.</summary>
    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one attempt may wait on the network before it counts as failed. Default 100 s.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(100);

    /// <summary>Blobs per List Blobs page (the service caps it at 5000). Default 5000.</summary>
    public int ListPageSize { get; init; } = 5000;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(SingleUploadLimit);
        ArgumentOutOfRangeException.ThrowIfLessThan(BlockSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(UploadConcurrency, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(MaxRetries);
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryBaseDelay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryMaxDelay, RetryBaseDelay);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RequestTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(ListPageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(ListPageSize, 5000);
    }
}
