using System.Runtime.InteropServices;

namespace Salient.Engine.Kernels.Native;

/// <summary>
/// OpenBLAS entry points, bound at run time so that a process without the library still works
/// (the managed GEMM takes over). Function pointers from <see cref="NativeLibrary.GetExport"/>
/// rather than a DllImport resolver, because an assembly can register only one resolver and the
/// rest of the engine may want it. Debian's libopenblas0 uses the LP64 ABI: 32-bit ints.
/// </summary>
internal static unsafe class OpenBlasNative
{
    public const int CblasRowMajor = 101;
    public const int CblasNoTrans = 111;
    public const int CblasTrans = 112;

    private static readonly string[] s_libraryNames = ["libopenblas.so.0", "libopenblas.so", "libopenblas.dylib", "libopenblas.dll", "openblas"];

    private static readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> s_sgemm;
    private static readonly delegate* unmanaged<int> s_getNumThreads;
    private static readonly delegate* unmanaged<int, void> s_setNumThreads;

    private static readonly Lock s_threadsLock = new();
    private static int s_singleThreadedUsers;
    private static int s_savedThreads;

#pragma warning disable CA1810 // Binding needs several statements; a static constructor keeps them together.
    static OpenBlasNative()
#pragma warning restore CA1810
    {
        foreach (var name in s_libraryNames)
        {
            if (!NativeLibrary.TryLoad(name, out var handle))
            {
                continue;
            }

            if (NativeLibrary.TryGetExport(handle, "cblas_sgemm", out var sgemm))
            {
                s_sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm;
                if (NativeLibrary.TryGetExport(handle, "openblas_get_num_threads", out var get)
                    && NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out var set))
                {
                    s_getNumThreads = (delegate* unmanaged<int>)get;
                    s_setNumThreads = (delegate* unmanaged<int, void>)set;
                }

                LibraryName = name;
                return;
            }

            NativeLibrary.Free(handle);
        }
    }

    /// <summary>Whether <c>cblas_sgemm</c> was found.</summary>
    public static bool IsAvailable => s_sgemm != null;

    /// <summary>The library name that loaded, or null.</summary>
    public static string? LibraryName { get; }

    /// <summary>OpenBLAS's own thread count, or 1 when it cannot be queried.</summary>
    public static int NumThreads => s_getNumThreads != null ? s_getNumThreads() : 1;

    /// <summary>
    /// Keeps OpenBLAS on the calling thread until <see cref="LeaveSingleThreaded"/>, for callers
    /// that run several GEMMs in parallel themselves. The setting is process-wide, so overlapping
    /// callers are counted and the last one out restores the thread count.
    /// </summary>
    public static void EnterSingleThreaded()
    {
        lock (s_threadsLock)
        {
            if (s_singleThreadedUsers++ == 0 && s_setNumThreads != null)
            {
                s_savedThreads = NumThreads;
                s_setNumThreads(1);
            }
        }
    }

    /// <summary>Ends one <see cref="EnterSingleThreaded"/>.</summary>
    public static void LeaveSingleThreaded()
    {
        lock (s_threadsLock)
        {
            if (--s_singleThreadedUsers == 0 && s_setNumThreads != null)
            {
                s_setNumThreads(s_savedThreads);
            }
        }
    }

    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        if (s_sgemm == null)
        {
            throw new InvalidOperationException("OpenBLAS is not loaded.");
        }

        s_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }
}
