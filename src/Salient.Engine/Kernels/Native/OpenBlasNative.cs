using System.Runtime.InteropServices;

namespace Salient.Engine.Kernels.Native;

/// <summary>
/// OpenBLAS entry points through source-generated <c>[LibraryImport]</c>, resolved at run time by
/// this assembly's import resolver so that a process without the library still works (the managed
/// GEMM takes over). Debian's libopenblas0 uses the LP64 ABI: 32-bit ints.
/// </summary>
internal static unsafe partial class OpenBlasNative
{
    public const int CblasRowMajor = 101;
    public const int CblasNoTrans = 111;
    public const int CblasTrans = 112;

    /// <summary>The import name every OpenBLAS binding uses; <see cref="NativeLibraries"/> maps it to the installed file.</summary>
    private const string Library = "openblas";

    private static readonly Lock s_threadsLock = new();
    private static readonly bool s_hasThreadControl;
    private static int s_singleThreadedUsers;
    private static int s_savedThreads;

#pragma warning disable CA1810 // Probing needs several statements; a static constructor keeps them together.
    static OpenBlasNative()
#pragma warning restore CA1810
    {
        var handle = NativeLibraries.Load(Library);
        if (handle == IntPtr.Zero || !NativeLibrary.TryGetExport(handle, "cblas_sgemm", out _))
        {
            return;
        }

        IsAvailable = true;
        LibraryName = NativeLibraries.LoadedName(Library);
        s_hasThreadControl = NativeLibrary.TryGetExport(handle, "openblas_get_num_threads", out _)
            && NativeLibrary.TryGetExport(handle, "openblas_set_num_threads", out _);
        if (NativeLibrary.TryGetExport(handle, "openblas_get_corename", out _))
        {
            CoreName = Marshal.PtrToStringAnsi((IntPtr)GetCoreName());
        }
    }

    /// <summary>The kernel set OpenBLAS chose for this CPU (e.g. <c>Haswell</c>, <c>SkylakeX</c>; <c>OPENBLAS_CORETYPE</c> overrides it), or null.</summary>
    public static string? CoreName { get; }

    /// <summary>Whether <c>cblas_sgemm</c> was found.</summary>
    public static bool IsAvailable { get; }

    /// <summary>The library file that loaded, or null.</summary>
    public static string? LibraryName { get; }

    /// <summary>OpenBLAS's own thread count, or 1 when it cannot be queried.</summary>
    public static int NumThreads => s_hasThreadControl ? GetNumThreads() : 1;

    /// <summary>
    /// Keeps OpenBLAS on the calling thread until <see cref="LeaveSingleThreaded"/>, for callers
    /// that run several GEMMs in parallel themselves. The setting is process-wide, so overlapping
    /// callers are counted and the last one out restores the thread count.
    /// </summary>
    public static void EnterSingleThreaded()
    {
        lock (s_threadsLock)
        {
            if (s_singleThreadedUsers++ == 0 && s_hasThreadControl)
            {
                s_savedThreads = NumThreads;
                SetNumThreads(1);
            }
        }
    }

    /// <summary>Ends one <see cref="EnterSingleThreaded"/>.</summary>
    public static void LeaveSingleThreaded()
    {
        lock (s_threadsLock)
        {
            if (--s_singleThreadedUsers == 0 && s_hasThreadControl)
            {
                SetNumThreads(s_savedThreads);
            }
        }
    }

    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        if (!IsAvailable)
        {
            throw new InvalidOperationException("OpenBLAS is not loaded.");
        }

        CblasSgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
            m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    [LibraryImport(Library, EntryPoint = "cblas_sgemm")]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static partial void CblasSgemm(int order, int transA, int transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc);

    [LibraryImport(Library, EntryPoint = "openblas_get_corename")]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static partial byte* GetCoreName();

    [LibraryImport(Library, EntryPoint = "openblas_get_num_threads")]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static partial int GetNumThreads();

    [LibraryImport(Library, EntryPoint = "openblas_set_num_threads")]
    [UnmanagedCallConv(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static partial void SetNumThreads(int threads);
}
