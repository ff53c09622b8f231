using System.Net;
using System.Runtime.CompilerServices;
using Azure;
using Azure.Core;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Salient.Storage.Internal;

namespace Salient.Storage;

/// <summary>
/// Blobs in one Azure Blob Storage container (or Azurite's), through the Azure SDK's
/// <see cref="BlobContainerClient"/>: its authorization (account key, SAS, or Microsoft Entra ID
/// through <c>DefaultAzureCredential</c>), retries, parallel block uploads and transfer validation
/// (every upload request carries a checksum the service checks; every downloaded range is checked
/// against the checksum the service sends). Create-only writes are conditional on the blob not
/// existing (<c>If-None-Match: *</c>), so a second writer fails instead of overwriting. The container
/// is created on the first write when the credentials allow it. Open one with <see cref="BlobStore.Open"/>.
/// </summary>
public sealed class AzureBlobStore : IBlobStore
{
    private const string DefaultContentType = "application/octet-stream";

    /// <summary>The range a download fetches at a time; MD5 transfer validation allows at most 4 MiB per range.</summary>
    private const int DownloadRangeSize = 4 * 1024 * 1024;

    private readonly BlobContainerClient _container;
    private readonly AzureBlobStoreOptions _options;
    private volatile bool _containerChecked;

    /// <summary>Opens the container at <paramref name="address"/>; <paramref name="configure"/> may add pipeline policies or a transport (tests).</summary>
    public AzureBlobStore(AzureContainerAddress address, AzureBlobStoreOptions options, Action<BlobClientOptions>? configure = null)
    {
        options.Validate();
        _options = options;
        var client = new BlobClientOptions();
        client.Retry.Mode = RetryMode.Exponential;
        client.Retry.MaxRetries = options.MaxRetries;
        client.Retry.Delay = options.RetryBaseDelay;
        client.Retry.MaxDelay = options.RetryMaxDelay;
        client.Retry.NetworkTimeout = options.RequestTimeout;
        client.TransferValidation.Upload.ChecksumAlgorithm = options.TransferChecksum;
        client.TransferValidation.Download.ChecksumAlgorithm = options.TransferChecksum;
        client.TransferValidation.Download.AutoValidateChecksum = true;
        configure?.Invoke(client);
        _container = address.CreateClient(client);
        Location = address.ContainerUri.AbsoluteUri;
    }

    /// <summary>The container's URI, without any SAS token.</summary>
    public string Location { get; }

    /// <inheritdoc />
    public async Task PutAsync(string name, Stream content, string? contentType = null, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        BlobNames.Validate(name);
        ArgumentNullException.ThrowIfNull(content);
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        await CallAsync(name, "Upload", overwrite, () => _container.GetBlobClient(name).UploadAsync(content, UploadOptions(contentType, overwrite), cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task PutAsync(string name, ReadOnlyMemory<byte> content, string? contentType = null, bool overwrite = false, CancellationToken cancellationToken = default)
    {
        BlobNames.Validate(name);
        await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
        await CallAsync(name, "Upload", overwrite, () => _container.GetBlobClient(name).UploadAsync(new BinaryData(content), UploadOptions(contentType, overwrite), cancellationToken)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// The stream fetches the blob range by range, each checked against the checksum the service
    /// sends with it; it fails rather than mixing versions if the blob is replaced while it is read.
    /// </remarks>
    public async Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken = default)
    {
        BlobNames.Validate(name);
        var options = new BlobOpenReadOptions(allowModifications: false) { BufferSize = DownloadRangeSize };
        var body = await CallAsync(name, "Download", overwrite: true, () => _container.GetBlobClient(name).OpenReadAsync(options, cancellationToken)).ConfigureAwait(false);
        return new CheckedReadStream(body, e => Translate(e, name, "Download", overwrite: true));
    }

    /// <inheritdoc />
    public async Task<byte[]> ReadAllBytesAsync(string name, CancellationToken cancellationToken = default)
    {
        var stream = await OpenReadAsync(name, cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await CheckedReadStream.ReadToEndAsync(stream, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<bool> ExistsAsync(string name, CancellationToken cancellationToken = default)
    {
        BlobNames.Validate(name);
        return (await CallAsync(name, "Get Blob Properties", overwrite: true, () => _container.GetBlobClient(name).ExistsAsync(cancellationToken)).ConfigureAwait(false)).Value;
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        BlobNames.Validate(name);
        return (await CallAsync(name, "Delete", overwrite: true, () => _container.GetBlobClient(name).DeleteIfExistsAsync(cancellationToken: cancellationToken)).ConfigureAwait(false)).Value;
    }

    /// <inheritdoc />
    /// <remarks>A container that does not exist lists as empty.</remarks>
    public async IAsyncEnumerable<BlobItem> ListAsync(string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        BlobNames.ValidatePrefix(prefix);
        var pages = _container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix.Length > 0 ? prefix : null, cancellationToken)
            .AsPages(pageSizeHint: _options.ListPageSize)
            .GetAsyncEnumerator(cancellationToken);
        await using (pages.ConfigureAwait(false))
        {
            while (true)
            {
                try
                {
                    if (!await pages.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }
                }
                catch (RequestFailedException e) when (e.ErrorCode == BlobErrorCode.ContainerNotFound)
                {
                    yield break;
                }
                catch (Exception e) when (Translate(e, null, "List", overwrite: true) is { } translated)
                {
                    throw translated;
                }

                foreach (var blob in pages.Current.Values)
                {
                    yield return new BlobItem(blob.Name, blob.Properties.ContentLength ?? 0);
                }
            }
        }
    }

    private BlobUploadOptions UploadOptions(string? contentType, bool overwrite) => new()
    {
        HttpHeaders = new BlobHttpHeaders { ContentType = contentType ?? DefaultContentType },
        Conditions = overwrite ? null : new BlobRequestConditions { IfNoneMatch = ETag.All },
        TransferOptions = new StorageTransferOptions
        {
            // The SDK uploads in one request what is shorter than this; the option includes its limit.
            InitialTransferSize = _options.SingleUploadLimit + 1L,
            MaximumTransferSize = _options.BlockSize,
            MaximumConcurrency = _options.UploadConcurrency,
        },
    };

    /// <summary>Creates the container once per store; one that exists, or credentials not allowed to create it (a SAS), are fine.</summary>
    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (_containerChecked)
        {
            return;
        }

        try
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (RequestFailedException e) when (e.Status == (int)HttpStatusCode.Forbidden)
        {
            // A SAS or role limited to blobs may not create containers; the write itself will tell whether it may write.
        }
        catch (Exception e) when (Translate(e, null, "Create Container", overwrite: true) is { } translated)
        {
            throw translated;
        }

        _containerChecked = true;
    }

    /// <summary>Runs one SDK call about blob <paramref name="name"/>, turning its failures into this library's exceptions.</summary>
    private async Task<T> CallAsync<T>(string name, string operation, bool overwrite, Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, name, operation, overwrite) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>
    /// The exception to throw for an SDK failure, naming the blob, the status and the service's error
    /// code; null for exceptions that are not the service's (the caller's stream failing, cancellation).
    /// </summary>
    private Exception? Translate(Exception error, string? name, string operation, bool overwrite)
    {
        var target = name is null ? $"container {Location}" : $"blob '{name}' in {Location}";
        switch (error)
        {
            case RequestFailedException { Status: (int)HttpStatusCode.Conflict or (int)HttpStatusCode.PreconditionFailed } e when !overwrite && name is not null
                && (e.Status == (int)HttpStatusCode.PreconditionFailed || e.ErrorCode == BlobErrorCode.BlobAlreadyExists):
                return new BlobAlreadyExistsException(name, Location, (HttpStatusCode)e.Status, e.ErrorCode);
            case RequestFailedException { Status: (int)HttpStatusCode.NotFound } e when name is not null:
                return new BlobNotFoundException(name, Location, e.ErrorCode);
            case RequestFailedException { Status: > 0 } e:
                var detail = string.Join(": ", new[] { e.ErrorCode, FirstLine(e.Message) }.Where(s => !string.IsNullOrEmpty(s)));
                return new BlobStoreException($"{operation} of {target} failed: {e.Status}, {detail}.", name, (HttpStatusCode)e.Status, e.ErrorCode, e);
            case RequestFailedException e:
                return new BlobStoreException($"{operation} of {target} failed: {Innermost(e).Message}", name, null, null, e);
            case AggregateException e when e.InnerExceptions.All(inner => inner is RequestFailedException):
                // The SDK's retry policy gave up: the last attempt's failure says the most.
                return Translate(e.InnerExceptions[^1], name, operation, overwrite) is { } last
                    ? new BlobStoreException($"{last.Message.TrimEnd('.')} (after {e.InnerExceptions.Count} attempts).", name, (last as BlobStoreException)?.StatusCode, (last as BlobStoreException)?.ErrorCode, e)
                    : null;
            case InvalidDataException e when name is not null:
                // The SDK's transfer validation: bytes received that do not hash to the checksum the service sent
                // with them, or an upload the service did not confirm with the checksum sent.
                return new BlobIntegrityException(name, Location, $"{operation} failed its transfer checksum: {e.Message}", e);
            default:
                return null;
        }
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    private static Exception Innermost(Exception error)
    {
        while (error.InnerException is not null)
        {
            error = error.InnerException;
        }

        return error;
    }
}
