using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Storage;
using Azure.Storage.Blobs;

namespace Salient.Storage.Internal;

/// <summary>
/// One Blob service container and how requests to it are authorized: exactly one of an account key
/// (Shared Key), a SAS token, or a Microsoft Entra ID token credential.
/// </summary>
public sealed class AzureContainerAddress
{
    /// <summary>The account and key Azurite and the storage emulator accept.</summary>
    public const string DevelopmentAccount = "devstoreaccount1";

    public const string DevelopmentKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private const string DevelopmentEndpoint = "http://127.0.0.1:10000/devstoreaccount1";

    private AzureContainerAddress(Uri containerUri, StorageSharedKeyCredential? sharedKey, AzureSasCredential? sas, TokenCredential? token)
    {
        ContainerUri = containerUri;
        SharedKey = sharedKey;
        Sas = sas;
        Token = token;
    }

    /// <summary>The container's URI, without any SAS token.</summary>
    public Uri ContainerUri { get; }

    public StorageSharedKeyCredential? SharedKey { get; }

    public AzureSasCredential? Sas { get; }

    public TokenCredential? Token { get; }

    /// <summary>A client for the container, authorized by this address's credential.</summary>
    public BlobContainerClient CreateClient(BlobClientOptions options) =>
        SharedKey is not null ? new BlobContainerClient(ContainerUri, SharedKey, options)
        : Sas is not null ? new BlobContainerClient(ContainerUri, Sas, options)
        : new BlobContainerClient(ContainerUri, Token!, options);

    /// <summary>
    /// Parses a connection string: <c>UseDevelopmentStorage=true</c>, or <c>AccountName</c> with
    /// <c>AccountKey</c> or <c>SharedAccessSignature</c>, the endpoint from <c>BlobEndpoint</c> or
    /// <c>DefaultEndpointsProtocol</c> and <c>EndpointSuffix</c>. <c>Container=NAME</c> (Salient's
    /// addition) names the container; other services' endpoints are ignored.
    /// </summary>
    public static AzureContainerAddress FromConnectionString(string connectionString)
    {
        var settings = ParseSettings(connectionString);
        string Setting(string key) => settings.GetValueOrDefault(key) ?? string.Empty;
        var container = Setting("Container");
        if (container.Length == 0)
        {
            throw new ArgumentException("The Azure connection string names no container: add ';Container=NAME'.", nameof(connectionString));
        }

        if (Setting("UseDevelopmentStorage").Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            var endpoint = settings.GetValueOrDefault("BlobEndpoint") ?? DevelopmentEndpoint;
            return WithKey(BuildContainerUri(endpoint, container), DevelopmentAccount, DevelopmentKey);
        }

        var account = Setting("AccountName");
        var blobEndpoint = Setting("BlobEndpoint");
        if (blobEndpoint.Length == 0)
        {
            if (account.Length == 0)
            {
                throw new ArgumentException("The Azure connection string gives neither BlobEndpoint nor AccountName.", nameof(connectionString));
            }

            var protocol = settings.GetValueOrDefault("DefaultEndpointsProtocol") ?? "https";
            blobEndpoint = $"{protocol}://{account}.blob.{settings.GetValueOrDefault("EndpointSuffix") ?? "core.windows.net"}";
        }

        var key = Setting("AccountKey");
        var sas = Setting("SharedAccessSignature").TrimStart('?');
        if (key.Length > 0 && account.Length == 0)
        {
            throw new ArgumentException("The Azure connection string gives an AccountKey but no AccountName.", nameof(connectionString));
        }

        if (key.Length == 0 && sas.Length == 0)
        {
            throw new ArgumentException("The Azure connection string gives neither AccountKey nor SharedAccessSignature.", nameof(connectionString));
        }

        var uri = BuildContainerUri(blobEndpoint, container);
        return key.Length > 0 ? WithKey(uri, account, key) : WithSas(uri, sas);
    }

    /// <summary>
    /// Parses a container URL carrying a SAS token: <c>https://ACCOUNT.blob.core.windows.net/CONTAINER?sv=...</c>,
    /// or path-style as Azurite serves it, <c>http://127.0.0.1:10000/ACCOUNT/CONTAINER?sv=...</c>.
    /// </summary>
    public static AzureContainerAddress FromSasUrl(Uri url)
    {
        var segments = url.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var pathStyle = url.HostNameType is UriHostNameType.IPv4 or UriHostNameType.IPv6 || url.IsLoopback;
        if (segments.Length != (pathStyle ? 2 : 1))
        {
            throw new ArgumentException($"'{url.GetLeftPart(UriPartial.Path)}' is not a container URL: expected {(pathStyle ? "/ACCOUNT/CONTAINER" : "/CONTAINER")} as its path.", nameof(url));
        }

        if (url.Query.Length <= 1)
        {
            throw new ArgumentException($"The container URL '{url.GetLeftPart(UriPartial.Path)}' carries no SAS token.", nameof(url));
        }

        return WithSas(BuildContainerUri(url.GetLeftPart(UriPartial.Authority) + "/" + string.Join('/', segments[..^1]), segments[^1]), url.Query[1..]);
    }

    /// <summary>
    /// Parses <c>azure://ACCOUNT/CONTAINER</c> for https://ACCOUNT.blob.core.windows.net, authorized by
    /// the environment variable AZURE_STORAGE_KEY (an account key) or AZURE_STORAGE_SAS_TOKEN, or
    /// when neither is set by <see cref="DefaultAzureCredential"/>: workload identity on AKS, a
    /// managed identity, AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET, or a developer's
    /// Azure CLI login.
    /// </summary>
    public static AzureContainerAddress FromAzureUri(Uri uri) => FromAzureUri(uri, Environment.GetEnvironmentVariable);

    /// <summary>As <see cref="FromAzureUri(Uri)"/>, reading the environment through <paramref name="environment"/>.</summary>
    public static AzureContainerAddress FromAzureUri(Uri uri, Func<string, string?> environment)
    {
        var segments = uri.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (uri.Host.Length == 0 || segments.Length != 1)
        {
            throw new ArgumentException($"'{uri}' is not of the form azure://ACCOUNT/CONTAINER.", nameof(uri));
        }

        var account = uri.Host;
        var endpoint = $"https://{account}.blob.core.windows.net";
        var container = BuildContainerUri(endpoint, segments[0]);
        var key = environment("AZURE_STORAGE_KEY");
        var sas = environment("AZURE_STORAGE_SAS_TOKEN");
        if (!string.IsNullOrEmpty(key))
        {
            return WithKey(container, account, key);
        }

        return !string.IsNullOrEmpty(sas)
            ? WithSas(container, sas.TrimStart('?'))
            : new AzureContainerAddress(container, null, null, new DefaultAzureCredential());
    }

    private static AzureContainerAddress WithKey(Uri container, string account, string key)
    {
        // The SDK would only fail on the first request; a key that is not base64 is a configuration error now.
        if (!Convert.TryFromBase64String(key, new byte[key.Length], out _))
        {
            throw new ArgumentException($"The account key of storage account '{account}' is not base64.", nameof(key));
        }

        return new AzureContainerAddress(container, new StorageSharedKeyCredential(account, key), null, null);
    }

    private static AzureContainerAddress WithSas(Uri container, string sas) => new(container, null, new AzureSasCredential(sas), null);

    private static Dictionary<string, string> ParseSettings(string connectionString)
    {
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // Split at the first '=' only: keys and SAS tokens contain '='.
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ArgumentException($"The Azure connection string has a setting without a name or '=': '{part.Split('=')[0]}...'.", nameof(connectionString));
            }

            settings[part[..equals].Trim()] = part[(equals + 1)..].Trim();
        }

        return settings;
    }

    private static Uri BuildContainerUri(string blobEndpoint, string container)
    {
        // The service's container naming rule: 3 to 63 lower-case letters, digits and single hyphens, starting with a letter or digit.
        if (container.Length is < 3 or > 63 || !container.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-') ||
            container[0] == '-' || container[^1] == '-' || container.Contains("--", StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{container}' is not a valid container name: 3 to 63 lower-case letters, digits and single hyphens, not starting or ending with a hyphen.", nameof(container));
        }

        if (!Uri.TryCreate(blobEndpoint.TrimEnd('/') + "/" + container, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"'{blobEndpoint}' is not an http or https blob endpoint.", nameof(blobEndpoint));
        }

        return uri;
    }
}
