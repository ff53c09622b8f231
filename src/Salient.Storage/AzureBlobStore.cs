using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using Salient.Storage.Internal;

namespace Salient.Storage;

/// <summary>
/// Blobs in one Azure Blob Storage container (or Azurite's), spoken to through the Blob REST API.
/// Small blobs go up in one Put Blob, large ones as Put Block + Put Block List; every upload carries
/// Content-MD5 and downloads are checked against the MD5 the service returns. Transient failures are
/// retried (see <see cref="AzureBlobStoreOptions"/>). The container is created on the first write
/// when the credentials allow it. Open one with <see cref="BlobStore.Open"/>.
/// </summary>
public sealed class AzureBlobStore : IBlobStore
{
    private const string DefaultContentType = "application/octet-stream";

    /// <summary>The service's limit on the blocks of one blob.</summary>
    private const int MaxBlocks = 50_000;

    /// <summary>One client for every store, as HttpClient is meant to be shared; attempts have their own timeouts.</summary>
    private static readonly HttpClient SharedHttp = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private readonly AzureTransport _transport;
    private readonly AzureBlobStoreOptions _options;
    private volatile bool _containerChecked;

    internal AzureBlobStore(AzureContainerAddress address, AzureBlobStoreOptions options, HttpClient? http = null)
    {
        options.Validate();
        _options = options;
        _transport = new AzureTransport(http ?? SharedHttp, address, options);
    }

    /// <summary>The container's URI, without any SAS token.</summary>
    public string Location => _transport.Location;

    /// <inheritdoc />
    public async Task PutAsync(string name, Stream content, string? contentType = null, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        BlobNames.Validate(name);
        ArgumentNullException.ThrowIfNull(content);
        // One byte past the limit tells a small blob from a large one without needing a seekable stream.
        var head = ArrayPool<byte>.Shared.Rent(_options.SingleUploadLimit + 1);
        try
        {
            var read = await content.ReadAtLeastAsync(head.AsMemory(0, _options.SingleUploadLimit + 1), _options.SingleUploadLimit + 1, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (read <= _options.SingleUploadLimit)
            {
                await PutBlobAsync(name, head.AsMemory(0, read), contentType, overwrite, cancellationToken).ConfigureAwait(false);
                return;
            }

            await PutBlocksAsync(name, ReadBlocksAsync(head.AsMemory(0, read), content, cancellationToken), contentType, overwrite, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(head);
        }
    }

    /// <inheritdoc />
    public Task PutAsync(string name, ReadOnlyMemory<byte> content, string? contentType = null, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        BlobNames.Validate(name);
        return content.Length <= _options.SingleUploadLimit
            ? PutBlobAsync(name, content, contentType, overwrite, cancellationToken)
            : PutBlocksAsync(name, Slices(content, _options.BlockSize).ToAsyncEnumerable(), contentType, overwrite, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken = default)
    {
        BlobNames.Validate(name);
        var response = await _transport.SendAsync(name, () => new HttpRequestMessage(HttpMethod.Get, _transport.UriFor(name)), cancellationToken, HttpCompletionOption.ResponseHeadersRead).ConfigureAwait(false);
        try
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                throw new BlobNotFoundException(name, Location, AzureTransport.ErrorCode(response));
            }

            if (!response.IsSuccessStatusCode)
            {
                throw await _transport.ErrorAsync(response, name, "Get Blob", cancellationToken).ConfigureAwait(false);
            }

            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new VerifyingReadStream(body, response, response.Content.Headers.ContentMD5, name, Location);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<byte[]> ReadAllBytesAsync(string name, CancellationToken cancellationToken = default)
    {
        var stream = await OpenReadAsync(name, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            return buffer.ToArray();
        }
    }

    /// <inheritdoc />
    public Task<bool> ExistsAsync(string name, CancellationToken cancellationToken = default) =>
        SendUnlessNotFoundAsync(HttpMethod.Head, name, "Get Blob Properties", cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default) =>
        SendUnlessNotFoundAsync(HttpMethod.Delete, name, "Delete Blob", cancellationToken);

    /// <inheritdoc />
    /// <remarks>A container that does not exist lists as empty.</remarks>
    public async IAsyncEnumerable<BlobItem> ListAsync(string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        BlobNames.ValidatePrefix(prefix);
        string? marker = null;
        do
        {
            var query = $"restype=container&comp=list&maxresults={_options.ListPageSize}"
                + (prefix.Length > 0 ? "&prefix=" + Uri.EscapeDataString(prefix) : string.Empty)
                + (marker is null ? string.Empty : "&marker=" + Uri.EscapeDataString(marker));
            using var response = await _transport.SendAsync(null, () => new HttpRequestMessage(HttpMethod.Get, _transport.UriFor(null, query)), cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                yield break;
            }

            if (!response.IsSuccessStatusCode)
            {
                throw await _transport.ErrorAsync(response, null, "List Blobs", cancellationToken).ConfigureAwait(false);
            }

            var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            (var blobs, marker) = await AzureXml.ListPageAsync(body, cancellationToken).ConfigureAwait(false);
            foreach (var blob in blobs)
            {
                yield return blob;
            }
        }
        while (marker is not null);
    }

    /// <summary>Sends a bodiless request about blob <paramref name="name"/>: true on success, false on 404, an exception otherwise.</summary>
    private async Task<bool> SendUnlessNotFoundAsync(HttpMethod method, string name, string operation, CancellationToken cancellationToken)
    {
        BlobNames.Validate(name);
        using var response = await _transport.SendAsync(name, () => new HttpRequestMessage(method, _transport.UriFor(name)), cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        return response.IsSuccessStatusCode ? true : throw await _transport.ErrorAsync(response, name, operation, cancellationToken).ConfigureAwait(false);
    }

    private async Task PutBlobAsync(string name, ReadOnlyMemory<byte> content, string? contentType, bool overwrite, CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        var md5 = ContentMd5.Hash(content.Span);
        var mediaType = MediaTypeHeaderValue.Parse(contentType ?? DefaultContentType);
        using var response = await _transport.SendAsync(
            name,
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Put, _transport.UriFor(name)) { Content = BodyOf(content, md5) };
                request.Content.Headers.ContentType = mediaType;
                request.Headers.TryAddWithoutValidation("x-ms-blob-type", "BlockBlob");
                AddCreateOnlyCondition(request, overwrite);
                return request;
            },
            cancellationToken).ConfigureAwait(false);
        await CheckPutAsync(response, name, overwrite, "Put Blob", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Uploads <paramref name="blocks"/> one by one under IDs unique to this upload, then commits them in order, with the whole blob's MD5.</summary>
    private async Task PutBlocksAsync(string name, IAsyncEnumerable<ReadOnlyMemory<byte>> blocks, string? contentType, bool overwrite, CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        // IDs must all have one length; a per-upload GUID keeps concurrent uploads of one name from committing each other's blocks.
        var upload = Guid.NewGuid().ToByteArray();
        var ids = new List<string>();
        using var blobMd5 = ContentMd5.CreateIncremental();
        await foreach (var block in blocks.ConfigureAwait(false))
        {
            if (ids.Count == MaxBlocks)
            {
                throw new BlobStoreException($"Blob '{name}' needs more than {MaxBlocks} blocks of {_options.BlockSize} bytes; raise {nameof(AzureBlobStoreOptions.BlockSize)}.", name, null, null);
            }

            var id = Convert.ToBase64String([.. upload, .. BitConverter.GetBytes(ids.Count)]);
            var md5 = ContentMd5.Hash(block.Span);
            blobMd5.AppendData(block.Span);
            using var response = await _transport.SendAsync(
                name,
                () => new HttpRequestMessage(HttpMethod.Put, _transport.UriFor(name, "comp=block&blockid=" + Uri.EscapeDataString(id))) { Content = BodyOf(block, md5) },
                cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw await _transport.ErrorAsync(response, name, "Put Block", cancellationToken).ConfigureAwait(false);
            }

            ids.Add(id);
        }

        var blockList = AzureXml.BlockList(ids);
        var wholeMd5 = Convert.ToBase64String(blobMd5.GetHashAndReset());
        using var commit = await _transport.SendAsync(
            name,
            () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Put, _transport.UriFor(name, "comp=blocklist")) { Content = BodyOf(blockList, ContentMd5.Hash(blockList)) };
                request.Headers.TryAddWithoutValidation("x-ms-blob-content-type", contentType ?? DefaultContentType);
                request.Headers.TryAddWithoutValidation("x-ms-blob-content-md5", wholeMd5);
                AddCreateOnlyCondition(request, overwrite);
                return request;
            },
            cancellationToken).ConfigureAwait(false);
        await CheckPutAsync(commit, name, overwrite, "Put Block List", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates the container once per store; one that exists, or credentials not allowed to create it (a SAS), are fine.</summary>
    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (_containerChecked)
        {
            return;
        }

        using var response = await _transport.SendAsync(null, () => new HttpRequestMessage(HttpMethod.Put, _transport.UriFor(null, "restype=container")), cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode && response.StatusCode is not (HttpStatusCode.Conflict or HttpStatusCode.Forbidden))
        {
            throw await _transport.ErrorAsync(response, null, "Create Container", cancellationToken).ConfigureAwait(false);
        }

        _containerChecked = true;
    }

    private async Task CheckPutAsync(HttpResponseMessage response, string name, bool overwrite, string operation, CancellationToken cancellationToken)
    {
        // Azure answers a failed If-None-Match: * on a write with 409 BlobAlreadyExists; 412 is the generic precondition failure.
        if (!overwrite && response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.PreconditionFailed)
        {
            throw new BlobAlreadyExistsException(name, Location, response.StatusCode, AzureTransport.ErrorCode(response));
        }

        if (!response.IsSuccessStatusCode)
        {
            throw await _transport.ErrorAsync(response, name, operation, cancellationToken).ConfigureAwait(false);
        }
    }

    private static void AddCreateOnlyCondition(HttpRequestMessage request, bool overwrite)
    {
        if (!overwrite)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", "*");
        }
    }

    private static ReadOnlyMemoryContent BodyOf(ReadOnlyMemory<byte> bytes, byte[] md5)
    {
        var content = new ReadOnlyMemoryContent(bytes);
        content.Headers.ContentMD5 = md5;
        return content;
    }

    private static IEnumerable<ReadOnlyMemory<byte>> Slices(ReadOnlyMemory<byte> content, int size)
    {
        for (var offset = 0; offset < content.Length; offset += size)
        {
            yield return content.Slice(offset, Math.Min(size, content.Length - offset));
        }
    }

    /// <summary>Blocks of the block size: first from <paramref name="head"/> (already read), then from the rest of <paramref name="rest"/>. Each block is valid until the next is asked for.</summary>
    private async IAsyncEnumerable<ReadOnlyMemory<byte>> ReadBlocksAsync(ReadOnlyMemory<byte> head, Stream rest, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(_options.BlockSize);
        try
        {
            while (true)
            {
                var filled = Math.Min(head.Length, _options.BlockSize);
                head[..filled].CopyTo(buffer);
                head = head[filled..];
                if (filled < _options.BlockSize)
                {
                    filled += await rest.ReadAtLeastAsync(buffer.AsMemory(filled, _options.BlockSize - filled), _options.BlockSize - filled, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
                }

                if (filled == 0)
                {
                    yield break;
                }

                yield return buffer.AsMemory(0, filled);
                if (filled < _options.BlockSize)
                {
                    yield break;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
