using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Salient.Storage.Internal;

/// <summary>
/// Signs Blob service requests with an account key: the "Shared Key" scheme of the Azure Storage
/// REST API (versions 2015-02-21 and later), with the canonicalized headers and resource built as
/// the "Authorize with Shared Key" specification gives them.
/// </summary>
internal sealed class SharedKeySigner
{
    private readonly byte[] _key;

    internal SharedKeySigner(string accountName, string accountKey)
    {
        AccountName = accountName;
        try
        {
            _key = Convert.FromBase64String(accountKey);
        }
        catch (FormatException e)
        {
            throw new ArgumentException($"The account key of storage account '{accountName}' is not base64.", nameof(accountKey), e);
        }
    }

    internal string AccountName { get; }

    /// <summary>Sets the Authorization header of a request whose other headers (x-ms-date included) are final.</summary>
    internal void Authorize(HttpRequestMessage request) =>
        request.Headers.TryAddWithoutValidation("Authorization", $"SharedKey {AccountName}:{Sign(StringToSign(request))}");

    /// <summary>Base64 HMAC-SHA256 of <paramref name="text"/> under the account key (Shared Key and service SAS signatures alike).</summary>
    internal string Sign(string text) => Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(text)));

    internal string StringToSign(HttpRequestMessage request)
    {
        var content = request.Content?.Headers;
        var length = content?.ContentLength ?? 0;
        var md5 = content?.ContentMD5;
        var builder = new StringBuilder()
            .Append(request.Method.Method).Append('\n')
            .Append(Header(request, "Content-Encoding")).Append('\n')
            .Append(Header(request, "Content-Language")).Append('\n')
            // Since version 2015-02-21 a zero length is signed as the empty string.
            .Append(length == 0 ? string.Empty : length.ToString(CultureInfo.InvariantCulture)).Append('\n')
            .Append(md5 is null ? string.Empty : Convert.ToBase64String(md5)).Append('\n')
            .Append(Header(request, "Content-Type")).Append('\n')
            // Empty because x-ms-date, a canonicalized header, carries the time.
            .Append(Header(request, "Date")).Append('\n')
            .Append(Header(request, "If-Modified-Since")).Append('\n')
            .Append(Header(request, "If-Match")).Append('\n')
            .Append(Header(request, "If-None-Match")).Append('\n')
            .Append(Header(request, "If-Unmodified-Since")).Append('\n')
            .Append(Header(request, "Range")).Append('\n');
        AppendCanonicalizedHeaders(builder, request);
        AppendCanonicalizedResource(builder, request.RequestUri!);
        return builder.ToString();
    }

    private static string Header(HttpRequestMessage request, string name)
    {
        if (request.Headers.NonValidated.TryGetValues(name, out var values) ||
            (request.Content is not null && request.Content.Headers.NonValidated.TryGetValues(name, out values)))
        {
            return values.ToString();
        }

        return string.Empty;
    }

    /// <summary>Every x-ms- header, lower-cased, sorted, value with its whitespace runs folded to one space: "name:value\n".</summary>
    private static void AppendCanonicalizedHeaders(StringBuilder builder, HttpRequestMessage request)
    {
        var headers = request.Headers.NonValidated
            .Where(h => h.Key.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase))
            .Select(h => (Name: h.Key.ToLowerInvariant(), Value: FoldWhitespace(h.Value.ToString())))
            .OrderBy(h => h.Name, StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            builder.Append(name).Append(':').Append(value).Append('\n');
        }
    }

    /// <summary>"/account/path" then, per query parameter sorted by lower-cased name, "\nname:value[,value]" with values decoded.</summary>
    private void AppendCanonicalizedResource(StringBuilder builder, Uri uri)
    {
        builder.Append('/').Append(AccountName).Append(uri.AbsolutePath);
        var parameters = uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .Select(pair => (Name: Uri.UnescapeDataString(pair[0]).ToLowerInvariant(), Value: pair.Length > 1 ? Uri.UnescapeDataString(pair[1]) : string.Empty))
            .GroupBy(p => p.Name, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var parameter in parameters)
        {
            builder.Append('\n').Append(parameter.Key).Append(':')
                .AppendJoin(',', parameter.Select(p => p.Value).Order(StringComparer.Ordinal));
        }
    }

    private static string FoldWhitespace(string value) =>
        string.Join(' ', value.Trim().Split([' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries));
}
