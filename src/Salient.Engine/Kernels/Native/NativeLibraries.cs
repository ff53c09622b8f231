using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Salient.Engine.Kernels.Native;

/// <summary>
/// The engine assembly's one <c>[LibraryImport]</c> resolver (an assembly may register only one):
/// maps each import name to the file names it goes by on the platforms we run on, and remembers
/// which loaded. Native backends added later (cuBLAS, cuDNN) list their names here too.
/// </summary>
internal static class NativeLibraries
{
    private static readonly Dictionary<string, string[]> Candidates = new(StringComparer.Ordinal)
    {
        ["openblas"] = ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib", "libopenblas.dll"],
    };

    private static readonly ConcurrentDictionary<string, (IntPtr Handle, string? File)> Loaded = new(StringComparer.Ordinal);

    static NativeLibraries() => NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);

    /// <summary>The handle of <paramref name="name"/>'s library, or zero when none of its files loads.</summary>
    public static IntPtr Load(string name) => Loaded.GetOrAdd(name, Probe).Handle;

    /// <summary>The file that loaded for <paramref name="name"/>, or null.</summary>
    public static string? LoadedName(string name) => Loaded.GetOrAdd(name, Probe).File;

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        Candidates.ContainsKey(name) ? Load(name) : IntPtr.Zero;

    private static (IntPtr, string?) Probe(string name)
    {
        foreach (var file in Candidates[name])
        {
            if (NativeLibrary.TryLoad(file, out var handle))
            {
                return (handle, file);
            }
        }

        return (IntPtr.Zero, null);
    }
}
