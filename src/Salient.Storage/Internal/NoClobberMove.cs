using System.Runtime.InteropServices;

namespace Salient.Storage.Internal;

/// <summary>
/// Moves a finished file into place only if nothing is there, atomically. On Unix, File.Move without
/// overwrite checks for the target and then renames, so two writers can both pass the check and the
/// second silently replaces the first; link(2) instead fails with EEXIST when the target exists.
/// </summary>
internal static partial class NoClobberMove
{
    private const int EEXIST = 17;

    /// <summary>Moves <paramref name="source"/> to <paramref name="destination"/>; false, leaving both as they were, when the destination exists.</summary>
    internal static bool TryMove(string source, string destination)
    {
        if (!OperatingSystem.IsWindows())
        {
            if (Link(source, destination) == 0)
            {
                File.Delete(source);
                return true;
            }

            if (Marshal.GetLastPInvokeError() == EEXIST)
            {
                return false;
            }

            // A file system without hard links: fall back to File.Move, atomic enough there.
        }

        try
        {
            File.Move(source, destination, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(destination))
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string oldPath, string newPath);
}
