using Salient.Storage.Internal;

namespace Salient.Storage;

/// <summary>Opens a blob store from one string, as given on a command line or in configuration.</summary>
public static class BlobStore
{
    private static readonly string[] ConnectionStringKeys =
        ["UseDevelopmentStorage", "DefaultEndpointsProtocol", "AccountName", "AccountKey", "BlobEndpoint", "SharedAccessSignature", "EndpointSuffix", "Container"];

    /// <summary>
    /// Opens the store <paramref name="location"/> names:
    /// <list type="bullet">
    /// <item><c>file:///path</c> or a plain path: a <see cref="LocalFolderBlobStore"/> (the folder is created when missing);</item>
    /// <item><c>azure://ACCOUNT/CONTAINER</c>: that container at ACCOUNT.blob.core.windows.net, authorized by the
    /// environment variable <c>AZURE_STORAGE_KEY</c> (account key) or <c>AZURE_STORAGE_SAS_TOKEN</c>, and when
    /// neither is set by Microsoft Entra ID through <c>DefaultAzureCredential</c> (workload or managed identity,
    /// a service principal from <c>AZURE_CLIENT_ID</c>/<c>AZURE_TENANT_ID</c>/<c>AZURE_CLIENT_SECRET</c>, or the Azure CLI login);</item>
    /// <item>an <c>http(s)://</c> container URL with a SAS token, host-style or path-style
    /// (<c>http://127.0.0.1:10000/devstoreaccount1/CONTAINER?sv=...</c>);</item>
    /// <item>an Azure Storage connection string with <c>;Container=NAME</c> added:
    /// <c>UseDevelopmentStorage=true</c> (Azurite's well-known account), or <c>AccountName</c> with
    /// <c>AccountKey</c> or <c>SharedAccessSignature</c>, and <c>BlobEndpoint</c> or
    /// <c>DefaultEndpointsProtocol</c>/<c>EndpointSuffix</c>.</item>
    /// </list>
    /// </summary>
    /// <param name="location">The store, as above.</param>
    /// <param name="azureOptions">Upload, checksum, retry and paging settings of an Azure store; ignored for a folder.</param>
    /// <exception cref="ArgumentException"><paramref name="location"/> is malformed or lacks credentials.</exception>
    public static IBlobStore Open(string location, AzureBlobStoreOptions? azureOptions = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        location = location.Trim();
        if (IsConnectionString(location))
        {
            return new AzureBlobStore(AzureContainerAddress.FromConnectionString(location), azureOptions ?? new AzureBlobStoreOptions());
        }

        if (Uri.TryCreate(location, UriKind.Absolute, out var uri) && location.Contains("://", StringComparison.Ordinal))
        {
            switch (uri.Scheme)
            {
                case "azure":
                    return new AzureBlobStore(AzureContainerAddress.FromAzureUri(uri), azureOptions ?? new AzureBlobStoreOptions());
                case "http" or "https":
                    return new AzureBlobStore(AzureContainerAddress.FromSasUrl(uri), azureOptions ?? new AzureBlobStoreOptions());
                case "file":
                    return new LocalFolderBlobStore(uri.LocalPath);
                default:
                    throw new ArgumentException($"Blob store '{uri.GetLeftPart(UriPartial.Scheme)}...' has an unknown scheme; use file://, azure://, https:// (SAS URL) or a connection string.", nameof(location));
            }
        }

        return new LocalFolderBlobStore(location);
    }

    /// <summary>
    /// Checks <paramref name="name"/> against the rules every store applies to blob names (at most 1024
    /// characters, no backslash or control character, no leading '/', no empty, '.' or '..' segment),
    /// so callers can refuse a name before any store sees it.
    /// </summary>
    /// <returns>Null for a valid name, else why it is not allowed, naming it.</returns>
    public static string? NameProblem(string name) => BlobNames.NameProblem(name);

    /// <summary>A connection string starts with one of its known settings ("AccountName=..."); a path or URI does not.</summary>
    private static bool IsConnectionString(string location)
    {
        var equals = location.IndexOf('=', StringComparison.Ordinal);
        return equals > 0 && ConnectionStringKeys.Contains(location[..equals].Trim(), StringComparer.OrdinalIgnoreCase);
    }
}
