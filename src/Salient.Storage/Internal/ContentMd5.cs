using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;

namespace Salient.Storage.Internal;

/// <summary>MD5 digests as the Blob service's Content-MD5 integrity checks use them.</summary>
[SuppressMessage("Security", "CA5351:Do Not Use Broken Cryptographic Algorithms", Justification = "Content-MD5 is the Blob service's transfer checksum, not a security measure.")]
internal static class ContentMd5
{
    internal static byte[] Hash(ReadOnlySpan<byte> data) => MD5.HashData(data);

    internal static IncrementalHash CreateIncremental() => IncrementalHash.CreateHash(HashAlgorithmName.MD5);
}
