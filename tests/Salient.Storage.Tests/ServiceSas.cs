using System.Globalization;
using Salient.Storage.Internal;

namespace Salient.Storage.Tests;

/// <summary>
/// Makes a service SAS for a whole container, signed with the account key, as the "Create a service
/// SAS" specification gives it for versions 2020-12-06 and later (the string to sign has 16 fields).
/// A test helper: Salient consumes SAS tokens, it does not issue them.
/// </summary>
internal static class ServiceSas
{
    private const string Version = "2021-08-06";

    /// <summary>A SAS query string granting <paramref name="permissions"/> (e.g. "racwdl") on <paramref name="container"/> for an hour.</summary>
    public static string ForContainer(string account, string key, string container, string permissions)
    {
        var expiry = DateTime.UtcNow.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        string[] fields =
        [
            permissions, // sp
            string.Empty, // st
            expiry, // se
            $"/blob/{account}/{container}", // canonicalized resource
            string.Empty, // si
            string.Empty, // sip
            string.Empty, // spr
            Version, // sv
            "c", // sr
            string.Empty, // signed snapshot time
            string.Empty, // ses
            string.Empty, // rscc
            string.Empty, // rscd
            string.Empty, // rsce
            string.Empty, // rscl
            string.Empty, // rsct
        ];
        var signature = new SharedKeySigner(account, key).Sign(string.Join('\n', fields));
        return $"sv={Version}&sr=c&sp={permissions}&se={Uri.EscapeDataString(expiry)}&sig={Uri.EscapeDataString(signature)}";
    }
}
