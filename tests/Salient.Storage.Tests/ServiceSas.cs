using Azure.Storage;
using Azure.Storage.Sas;

namespace Salient.Storage.Tests;

/// <summary>Container SAS tokens made by the Azure SDK, a client Salient did not write (Salient consumes SAS tokens, it does not issue them).</summary>
internal static class ServiceSas
{
    /// <summary>A SAS query string granting <paramref name="permissions"/> (e.g. "racwdl") on <paramref name="container"/> for an hour.</summary>
    public static string ForContainer(string account, string key, string container, string permissions)
    {
        var builder = new BlobSasBuilder { BlobContainerName = container, Resource = "c", ExpiresOn = DateTimeOffset.UtcNow.AddHours(1) };
        builder.SetPermissions(permissions);
        return builder.ToSasQueryParameters(new StorageSharedKeyCredential(account, key)).ToString();
    }
}
