using Salient.Engine.Kernels.Native;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>The GEMM the CPU kernels share: managed (by default) or OpenBLAS, chosen once.</summary>
internal sealed unsafe class CpuGemm
{
    public const string EnvironmentVariable = "SALIENT_GEMM";

    public CpuGemm(GemmProvider provider)
    {
        if (provider == GemmProvider.Auto)
        {
            provider = Environment.GetEnvironmentVariable(EnvironmentVariable)?.Trim().ToUpperInvariant() switch
            {
                null or "" or "AUTO" or "MANAGED" => GemmProvider.Managed,
                "OPENBLAS" => GemmProvider.OpenBlas,
                "MANAGED-AVX2" => GemmProvider.ManagedAvx2,
                var other => throw new InvalidOperationException($"{EnvironmentVariable}={other} is not one of managed, managed-avx2, openblas, auto."),
            };
        }

        if (provider == GemmProvider.OpenBlas && !OpenBlasNative.IsAvailable)
        {
            throw new InvalidOperationException("OpenBLAS was requested but libopenblas could not be loaded.");
        }

        UsesOpenBlas = provider == GemmProvider.OpenBlas;
        Kernels = provider == GemmProvider.ManagedAvx2 ? ManagedGemm.Kernels.Vector256 : ManagedGemm.Widest;
    }

    public bool UsesOpenBlas { get; }

    /// <summary>The managed GEMM's micro-kernels (unused when <see cref="UsesOpenBlas"/>).</summary>
    public ManagedGemm.Kernels Kernels { get; }

    /// <summary>
    /// C = alpha·op(A)·op(B) + beta·C on all cores, or on the calling thread with
    /// <paramref name="singleThreaded"/> (as for <see cref="Multiply"/>).
    /// </summary>
    public void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, bool singleThreaded = false)
    {
        if (UsesOpenBlas)
        {
            OpenBlasNative.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
        else
        {
            ManagedGemm.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, singleThreaded ? 1 : CpuParallel.MaxThreads, Kernels);
        }
    }

    /// <summary>
    /// Prepares op(<paramref name="a"/>), m×k, as the left operand of many products (a
    /// convolution's weights across images, transposed for the input gradient): packed once for
    /// the managed GEMM, in memory that outlives the call when <paramref name="lasting"/> (a model's
    /// cached weights; see <see cref="ManagedGemm.PackedA"/>); OpenBLAS packs inside each call, so it
    /// gets the matrix as is, and then <paramref name="a"/> must stay put for as long as the operand is used.
    /// </summary>
    public GemmLhs Prepare(int m, int k, float* a, int lda, bool transA = false, bool lasting = false) =>
        new(m, k, a, lda, transA, UsesOpenBlas ? null : ManagedGemm.Pack(transA, m, k, 1f, a, lda, Kernels, lasting));

    /// <summary>
    /// Whether a convolution should run its images on separate threads, each with single-threaded
    /// GEMMs (<see cref="ForEachImage"/>), rather than one image after another with GEMMs
    /// on all cores. The former wins (ResNet-50 layers, batch 8, 2 cores: 0.77 s against 0.91 s
    /// managed, 0.54 s against 0.59 s OpenBLAS), since many layers' GEMMs are too small to split
    /// well; not when the images would leave threads idle in the last round, as batch 3 on 2 threads would.
    /// </summary>
    public static bool SplitsBatch(int batch)
    {
        var threads = CpuParallel.MaxThreads;
        return threads > 1 && batch > 1 && (batch % threads == 0 || batch >= 2 * threads);
    }

    /// <summary>Runs <paramref name="image"/>(n, singleThreaded) for each image, split as <see cref="SplitsBatch"/> says.</summary>
    public void ForEachImage(int batch, Action<int, bool> image)
    {
        if (SplitsBatch(batch))
        {
            ForEachSingleThreaded(batch, n => image(n, true));
            return;
        }

        for (var n = 0; n < batch; n++)
        {
            image(n, false);
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> for 0..count-1 on all cores, each call running its GEMMs
    /// single-threaded; OpenBLAS, whose thread count is process-wide, is held at one thread meanwhile.
    /// </summary>
    public void ForEachSingleThreaded(int count, Action<int> body)
    {
        var options = new ParallelOptions { MaxDegreeOfParallelism = CpuParallel.MaxThreads };
        if (!UsesOpenBlas)
        {
            Parallel.For(0, count, options, body);
            return;
        }

        OpenBlasNative.EnterSingleThreaded();
        try
        {
            Parallel.For(0, count, options, body);
        }
        finally
        {
            OpenBlasNative.LeaveSingleThreaded();
        }
    }

    /// <summary>
    /// C = act(lhs·B + bias) (or act(C + lhs·B + bias) with <paramref name="accumulate"/>) for a k×n
    /// row-major B, bias per row of C (none when null). With <paramref name="singleThreaded"/> the
    /// product stays on the calling thread, for callers that parallelise around it; OpenBLAS must then
    /// be inside <see cref="OpenBlasNative.EnterSingleThreaded"/>, its thread count being process-wide.
    /// The managed GEMM applies bias and activation to each strip of C as it completes; after OpenBLAS they
    /// are one more pass over C.
    /// </summary>
    public static void Multiply(GemmLhs lhs, int n, float* b, int ldb, float* c, int ldc, bool singleThreaded, bool accumulate = false,
        in FusedActivation activation = default, float* bias = null)
    {
        var beta = accumulate ? 1f : 0f;
        var epilogue = new ManagedGemm.RowEpilogue(activation, bias);
        if (lhs.Packed is { } packed)
        {
            ManagedGemm.Sgemm(packed, false, n, b, ldb, beta, c, ldc, singleThreaded ? 1 : CpuParallel.MaxThreads, epilogue);
        }
        else
        {
            OpenBlasNative.Sgemm(lhs.TransA, false, lhs.M, n, lhs.K, 1f, lhs.A, lhs.Lda, b, ldb, beta, c, ldc);
            epilogue.Apply(c, ldc, 0, lhs.M, n);
        }
    }

    /// <summary>Checks that the spans hold the matrices the arguments describe.</summary>
    public static void Validate(bool transA, bool transB, int m, int n, int k, int lda, int aLength, int ldb, int bLength, int ldc, int cLength)
    {
        if (m < 0 || n < 0 || k < 0)
        {
            throw new ArgumentException($"Negative GEMM size m={m} n={n} k={k}.");
        }

        CheckMatrix("A", transA ? k : m, transA ? m : k, lda, aLength);
        CheckMatrix("B", transB ? n : k, transB ? k : n, ldb, bLength);
        CheckMatrix("C", m, n, ldc, cLength);
    }

    private static void CheckMatrix(string name, int rows, int cols, int ld, int length)
    {
        if (ld < Math.Max(1, cols))
        {
            throw new ArgumentException($"Leading dimension of {name} is {ld}, less than its {cols} columns.");
        }

        if (rows > 0 && cols > 0 && ((long)(rows - 1) * ld) + cols > length)
        {
            throw new ArgumentException($"{name} needs {((long)(rows - 1) * ld) + cols} elements for {rows}×{cols} with stride {ld}, it has {length}.");
        }
    }
}
