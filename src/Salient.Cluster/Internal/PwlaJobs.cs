using System.Security.Cryptography;
using System.Text;

namespace Salient.Cluster.Internal;

/// <summary>The item conventions of <c>pwla</c> jobs, shared by the coordinator's validation and the worker.</summary>
internal static class PwlaJobs
{
    /// <summary>The most segments a job may ask for: the fit's cost grows quickly with n.</summary>
    public const int MaxSegments = 64;

    /// <summary>Whether the item names a CSV blob of samples; any other item is an expression in x.</summary>
    public static bool IsSamples(string item) => item.EndsWith(".csv", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The folder of the item's outputs under <c>jobs/&lt;id&gt;/items/</c>: the blob name for samples; for an
    /// expression, a digest of it, since expressions hold characters (<c>/</c>, <c>*</c>) that are no blob name.
    /// </summary>
    public static string ItemKey(string item) =>
        IsSamples(item) ? item : "functions/" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(item)))[..16];
}
