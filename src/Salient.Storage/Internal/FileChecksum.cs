using System.IO.Hashing;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Salient.Storage.Internal;

/// <summary>
/// The CRC-64 of a local blob, kept in an extended attribute of its file (Linux). An attribute
/// belongs to the file's inode, so it moves with the file into place and cannot be seen next to
/// another write's bytes. File systems without user extended attributes, and other platforms,
/// keep no checksum: such blobs are read unverified.
/// </summary>
internal static partial class FileChecksum
{
    private const string AttributeName = "user.salient.crc64";
    private const int ChecksumLength = 8;

    internal static NonCryptographicHashAlgorithm CreateHash() => new Crc64();

    /// <summary>Attaches <paramref name="checksum"/> to the open <paramref name="file"/>; false where the file system cannot keep it.</summary>
    internal static bool TryWrite(SafeFileHandle file, ReadOnlySpan<byte> checksum) =>
        OperatingSystem.IsLinux() && SetAttribute(file, AttributeName, checksum, (nuint)checksum.Length, 0) == 0;

    /// <summary>The checksum attached to the open <paramref name="file"/>, or null when it has none.</summary>
    internal static byte[]? TryRead(SafeFileHandle file)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var checksum = new byte[ChecksumLength];
        return GetAttribute(file, AttributeName, checksum, ChecksumLength) == ChecksumLength ? checksum : null;
    }

    [LibraryImport("libc", EntryPoint = "fsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetAttribute(SafeFileHandle file, string name, ReadOnlySpan<byte> value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "fgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint GetAttribute(SafeFileHandle file, string name, Span<byte> value, nuint size);
}
