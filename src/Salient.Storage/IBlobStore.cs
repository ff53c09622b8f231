namespace Salient.Storage;

/// <summary>
/// A flat namespace of blobs (byte strings) named by <c>/</c>-separated paths such as
/// <c>jobs/42/items/cat/gradcam-c3.png</c>. Names are validated the same way by every store: not
/// empty, no leading, trailing or doubled <c>/</c>, no <c>.</c> or <c>..</c> segment, no backslash or
/// control character. Every failure names the blob; implementations are thread-safe.
/// </summary>
public interface IBlobStore
{
    /// <summary>Where the blobs live, for messages: a folder path or a container URI (never credentials).</summary>
    string Location { get; }

    /// <summary>Stores the rest of <paramref name="content"/> as blob <paramref name="name"/>.</summary>
    /// <param name="name">The blob name.</param>
    /// <param name="content">Read from its current position to its end; not disposed.</param>
    /// <param name="contentType">The media type kept with the blob where the store supports it; default <c>application/octet-stream</c>.</param>
    /// <param name="overwrite">When false the write only creates: if the blob exists it is left as it is.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <exception cref="BlobAlreadyExistsException"><paramref name="overwrite"/> is false and the blob exists.</exception>
    /// <exception cref="BlobStoreException">The store refused or failed the write.</exception>
    Task PutAsync(string name, Stream content, string? contentType = null, bool overwrite = false, CancellationToken cancellationToken = default);

    /// <summary>Stores <paramref name="content"/> as blob <paramref name="name"/>.</summary>
    /// <param name="name">The blob name.</param>
    /// <param name="content">The blob's bytes.</param>
    /// <param name="contentType">The media type kept with the blob where the store supports it; default <c>application/octet-stream</c>.</param>
    /// <param name="overwrite">When false the write only creates: if the blob exists it is left as it is.</param>
    /// <param name="cancellationToken">Cancels the upload.</param>
    /// <exception cref="BlobAlreadyExistsException"><paramref name="overwrite"/> is false and the blob exists.</exception>
    /// <exception cref="BlobStoreException">The store refused or failed the write.</exception>
    Task PutAsync(string name, ReadOnlyMemory<byte> content, string? contentType = null, bool overwrite = false, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens blob <paramref name="name"/> for reading. Where the store keeps a checksum, reading to
    /// the end verifies it and throws <see cref="BlobIntegrityException"/> on a mismatch.
    /// </summary>
    /// <exception cref="BlobNotFoundException">The blob does not exist.</exception>
    Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Reads all of blob <paramref name="name"/>, verified as <see cref="OpenReadAsync"/> does.</summary>
    /// <exception cref="BlobNotFoundException">The blob does not exist.</exception>
    /// <exception cref="BlobIntegrityException">The bytes do not match the stored checksum.</exception>
    Task<byte[]> ReadAllBytesAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Whether blob <paramref name="name"/> exists.</summary>
    Task<bool> ExistsAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Deletes blob <paramref name="name"/>; false when there was none.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// The blobs whose names start with <paramref name="prefix"/> (plain string prefix, so
    /// <c>jobs/4</c> matches <c>jobs/42/...</c>; end it with <c>/</c> for one folder), in ordinal name order.
    /// </summary>
    IAsyncEnumerable<BlobItem> ListAsync(string prefix = "", CancellationToken cancellationToken = default);
}
