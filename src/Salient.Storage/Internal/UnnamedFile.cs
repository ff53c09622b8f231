using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Salient.Storage.Internal;

/// <summary>
/// A create-only write without a temporary name (Linux): the bytes go to an unnamed file opened with
/// <c>O_TMPFILE</c> in the blob's own folder, which <c>linkat</c> then names atomically, failing with
/// <c>EEXIST</c> when the name is taken. Readers never see a partial file, a failed or abandoned write
/// leaves nothing behind (the kernel frees an unnamed file when it is closed), and a write costs an open,
/// the writes, the checksum attribute, one link and a close, where a temporary file also costs its name,
/// its folder, its removal and its file lock. Where the kernel, the file system or a missing <c>/proc</c>
/// cannot do this, <see cref="TryCreate"/> says so and the store writes through a temporary file.
/// </summary>
internal static partial class UnnamedFile
{
    private const int AtCurrentFolder = -100;
    private const int AtSymlinkFollow = 0x400;
    private const int WriteOnly = 0x1;
    private const int CloseOnExec = 0x80000;
    private const int CreateMode = 0x1B6; // 0666, less the umask, as FileStream creates files.
    private const int ENOENT = 2;
    private const int EEXIST = 17;

    // O_TMPFILE includes O_DIRECTORY, whose value differs by architecture; elsewhere the store uses temporary files.
    private static readonly int TemporaryFile = !OperatingSystem.IsLinux() ? 0 : RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 0x410000,
        Architecture.Arm64 => 0x404000,
        _ => 0,
    };

    /// <summary>Whether this platform has unnamed files at all (a folder's file system may still refuse one).</summary>
    internal static bool Supported => TemporaryFile != 0;

    /// <summary>
    /// Opens a new unnamed file in <paramref name="folder"/> for writing; null where its file system has no unnamed files.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException"><paramref name="folder"/> does not exist.</exception>
    /// <exception cref="IOException">The file cannot be created for another reason.</exception>
    internal static SafeFileHandle? TryCreate(string folder)
    {
        if (!Supported)
        {
            return null;
        }

        var fd = Open(folder, TemporaryFile | WriteOnly | CloseOnExec, CreateMode);
        if (fd >= 0)
        {
            return new SafeFileHandle(fd, ownsHandle: true);
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno switch
        {
            ENOENT => throw new DirectoryNotFoundException($"Folder {folder} does not exist."),
            // EOPNOTSUPP, EISDIR (kernels before 3.11), EINVAL: no unnamed files here.
            95 or 21 or 22 => null,
            _ => throw new IOException($"Cannot create a file in {folder}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})."),
        };
    }

    /// <summary>Names the unnamed <paramref name="file"/> <paramref name="path"/>; false, leaving everything as it was, when the name is taken.</summary>
    /// <exception cref="IOException">The link failed for another reason (its folder went away, a file system without links).</exception>
    internal static bool TryName(SafeFileHandle file, string path)
    {
        var self = "/proc/self/fd/" + file.DangerousGetHandle().ToString(CultureInfo.InvariantCulture);
        if (Link(AtCurrentFolder, self, AtCurrentFolder, path, AtSymlinkFollow) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == EEXIST ? false
            : throw new IOException($"Cannot link the written file to {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "linkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(int oldFolder, string oldPath, int newFolder, string newPath, int flags);
}
