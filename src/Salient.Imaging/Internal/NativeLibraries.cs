using System.Reflection;
using System.Runtime.InteropServices;

namespace Salient.Imaging.Internal;

/// <summary>
/// Maps the logical library names used by the <c>[LibraryImport]</c> declarations to the
/// sonames Debian ships, so a missing package is reported by name instead of as a bare
/// <see cref="DllNotFoundException"/> for an unknown file.
/// </summary>
public static class NativeLibraries
{
    internal const string TurboJpeg = "turbojpeg";
    internal const string Spng = "spng";

    private static readonly object Gate = new();
    private static bool _registered;

    /// <summary>Installs the resolver once per process; called from the interop classes' static constructors.</summary>
    internal static void Register()
    {
        lock (Gate)
        {
            if (!_registered)
            {
                NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
                _registered = true;
            }
        }
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) => libraryName switch
    {
        TurboJpeg => Load(["libturbojpeg.so.0", "libturbojpeg.so", "turbojpeg"], "libjpeg-turbo's TurboJPEG library", "libturbojpeg0", assembly, searchPath),
        Spng => Load(["libspng.so.0", "libspng.so", "spng"], "libspng", "libspng0", assembly, searchPath),
        _ => IntPtr.Zero,
    };

    public static IntPtr Load(string[] candidates, string what, string debianPackage, Assembly assembly, DllImportSearchPath? searchPath)
    {
        foreach (var name in candidates)
        {
            if (NativeLibrary.TryLoad(name, assembly, searchPath, out var handle))
            {
                return handle;
            }
        }

        throw new DllNotFoundException(
            $"Cannot load {what} (tried {string.Join(", ", candidates)}). On Debian/Ubuntu install the '{debianPackage}' package: apt-get install {debianPackage}");
    }
}
