using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Row-major SGEMM in managed code, after Goto and van de Geijn: op(A) and op(B) are packed into
/// panels (which also absorbs transposes, leading dimensions and alpha), and a 12×32 register-blocked
/// micro-kernel streams them with FMA: 24 of the 32 AVX-512 registers accumulate, or, with AVX2's 16
/// registers, four 6×16 quarters. Blocks: each task's A micro-panel (12 × Kc, 18 KiB) is reused across
/// the task's B micro-panels, which stream from L2 (Kc × NcTask = 384 KiB); Kc = 384 (128 to 384
/// measured on a Zen 5 EPYC, 1024³ on 2 threads) also means C is read and written once per 384 of
/// depth. Mc rows of A per task; Nc columns of packed B shared by all threads.
/// </summary>
internal static unsafe class ManagedGemm
{
    private const int Mr = 12;
    private const int HalfMr = 6;
    private const int Nr = 32;
    private const int Kc = 384;
    private const int Mc = 96;
    private const int Nc = 4096;
    private const int NcTask = 256;

    /// <summary>The micro-kernels of one instruction set.</summary>
    public enum Kernels
    {
        /// <summary>512-bit vectors (AVX-512).</summary>
        Vector512,

        /// <summary>256-bit vectors (AVX2 with FMA), or scalar code where even those are not accelerated.</summary>
        Vector256,
    }

    /// <summary>The widest kernels this CPU accelerates, decided when the JIT compiles the engine.</summary>
    public static Kernels Widest => Vector512.IsHardwareAccelerated ? Kernels.Vector512 : Kernels.Vector256;

    // Below this many multiply-adds a parallel loop costs more than it saves.
    private const long ParallelThreshold = 64L * 64 * 64;

    /// <summary>C = alpha·op(A)·op(B) + beta·C on up to <paramref name="maxThreads"/> threads.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int maxThreads, Kernels kernels) =>
        Run(transA, m, n, k, alpha, a, lda, null, new MatrixPanels(transB, b, ldb), beta, c, ldc, maxThreads, kernels, default, Nc);

    /// <summary>
    /// C = A·op(B) + beta·C with A packed by <see cref="Pack"/>, then <paramref name="epilogue"/> on each
    /// strip of C (12 rows of a task's columns) as its last depth block finishes, while it is still in cache.
    /// </summary>
    public static void Sgemm(PackedA a, bool transB, int n, float* b, int ldb, float beta, float* c, int ldc, int maxThreads, RowEpilogue epilogue = default) =>
        Run(false, a.M, n, a.K, 1f, null, 0, a, new MatrixPanels(transB, b, ldb), beta, c, ldc, maxThreads, a.Kernels, epilogue, Nc);

    /// <summary>
    /// As the product above, with B's panels packed by <paramref name="b"/> instead of copied from a matrix (a
    /// convolution's windows, read straight from its input), <paramref name="columnBlock"/> columns of B
    /// (a multiple of <see cref="PanelWidth"/>; 0 for the default) packed at a time.
    /// </summary>
    public static void Sgemm<TPanels>(PackedA a, int n, TPanels b, float beta, float* c, int ldc, int maxThreads, RowEpilogue epilogue, int columnBlock)
        where TPanels : struct, IPanelSource =>
        Run(false, a.M, n, a.K, 1f, null, 0, a, b, beta, c, ldc, maxThreads, a.Kernels, epilogue, columnBlock > 0 ? columnBlock : Nc);

    /// <summary>The rows of B one depth block packs.</summary>
    public const int DepthBlock = Kc;

    /// <summary>The columns of one micro-panel of B.</summary>
    public const int PanelWidth = Nr;

    /// <summary>The columns of B one task of a product multiplies.</summary>
    public const int TaskColumns = NcTask;

    /// <summary>Packs B's micro-panels for <see cref="Sgemm{TPanels}"/>.</summary>
    public interface IPanelSource
    {
        /// <summary>
        /// Columns [col, col + <see cref="PanelWidth"/>) of B, those from <paramref name="nEnd"/> on zero, rows
        /// [pc, pc + kc), as kc groups of <see cref="PanelWidth"/> at <paramref name="dst"/> (64-byte aligned).
        /// </summary>
        void Pack(int col, int nEnd, int pc, int kc, float* dst);
    }

    // B as a row-major matrix (or its transpose): the panels copied from it.
    private readonly struct MatrixPanels(bool transB, float* b, int ldb) : IPanelSource
    {
        public void Pack(int col, int nEnd, int pc, int kc, float* dst) => PackB(transB, b, ldb, nEnd, col, pc, kc, dst);
    }

    /// <summary>
    /// alpha·op(A) in the micro-kernel's layout, all depth blocks, for products with many B
    /// matrices: a convolution's weights are then packed once per call instead of once per image,
    /// or, <paramref name="lasting"/>, once per model (<see cref="PackedA"/> says where each lives).
    /// </summary>
    public static PackedA Pack(bool transA, int m, int k, float alpha, float* a, int lda, Kernels kernels, bool lasting = false)
    {
        var packed = new PackedA(m, k, kernels, (long)RoundUp(m, Mr) * Math.Max(k, 1), lasting);
        var panels = (m + Mr - 1) / Mr;
        var blocks = (k + Kc - 1) / Kc;
        CpuParallel.For(panels * blocks, (long)Mr * Kc, t =>
        {
            var pc = t / panels * Kc;
            var kc = Math.Min(Kc, k - pc);
            PackA(transA, a, lda, m, t % panels * Mr, pc, kc, alpha, packed.Block(pc) + ((long)(t % panels) * Mr * kc));
        });
        return packed;
    }

    private static void Run<TPanels>(bool transA, int m, int n, int k, float alpha,
        float* a, int lda, PackedA? packed, TPanels b, float beta, float* c, int ldc, int maxThreads, Kernels kernels, RowEpilogue epilogue, int columnBlock)
        where TPanels : struct, IPanelSource
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0 || alpha == 0f)
        {
            ScaleC(m, n, beta, c, ldc);
            epilogue.Apply(c, ldc, 0, m, n);
            return;
        }

        // With beta = 0 the first depth block stores its tiles over C instead of adding to a cleared C:
        // one pass over C less (a convolution's whole output), and NaN or infinity in C still go.
        var overwriteFirst = beta == 0f;
        if (!overwriteFirst)
        {
            ScaleC(m, n, beta, c, ldc);
        }

        var threads = (long)m * n * k < ParallelThreshold ? 1 : Math.Max(1, maxThreads);
        var kcMax = Math.Min(k, Kc);
        var ncMax = Math.Min(n, columnBlock);
        var aPanels = (m + Mr - 1) / Mr;
        // The packs' buffers come from the pool the tensors come from (native ones of a few MB a call stayed
        // resident in the C library's per-thread arenas beside the pool's free arrays), pinned for the call.
        using var packAScratch = packed is null ? new AlignedScratch(aPanels * Mr * kcMax) : default;
        using var packBScratch = new AlignedScratch(RoundUp(ncMax, Nr) * kcMax);
        var packA = packAScratch.Pointer;
        var packB = packBScratch.Pointer;
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads };
        for (var pc = 0; pc < k; pc += Kc)
        {
            var kc = Math.Min(Kc, k - pc);
            var aBlock = packed is null ? packA : packed.Block(pc);
            var last = pc + kc == k ? epilogue : default;
            for (var jc = 0; jc < n; jc += columnBlock)
            {
                var nc = Math.Min(columnBlock, n - jc);
                var bPanels = (nc + Nr - 1) / Nr;

                // A is packed once per depth block, with the first column block; B once per block.
                var packAPanels = packed is null && jc == 0 ? aPanels : 0;
                var packJobs = packAPanels + bPanels;
                void Pack(int t)
                {
                    if (t < packAPanels)
                    {
                        PackA(transA, a, lda, m, t * Mr, pc, kc, alpha, aBlock + ((long)t * Mr * kc));
                    }
                    else
                    {
                        var panel = t - packAPanels;
                        b.Pack(jc + (panel * Nr), jc + nc, pc, kc, packB + ((long)panel * Nr * kc));
                    }
                }

                var mTasks = (m + Mc - 1) / Mc;
                var nTasks = (nc + NcTask - 1) / NcTask;
                void Compute(int t)
                {
                    var i0 = t / nTasks * Mc;
                    var j0 = t % nTasks * NcTask;
                    Block(aBlock + ((long)i0 * kc), packB + ((long)j0 * kc), kc,
                        Math.Min(Mc, m - i0), Math.Min(NcTask, nc - j0), c + ((long)i0 * ldc) + jc + j0, ldc, kernels, overwriteFirst && pc == 0, last.Offset(i0));
                }

                if (threads == 1)
                {
                    for (var t = 0; t < packJobs; t++)
                    {
                        Pack(t);
                    }

                    for (var t = 0; t < mTasks * nTasks; t++)
                    {
                        Compute(t);
                    }
                }
                else
                {
                    Parallel.For(0, packJobs, options, Pack);
                    Parallel.For(0, mTasks * nTasks, options, Compute);
                }
            }
        }
    }

    // Floats of slack that let a pinned array start its data on a 64-byte boundary.
    private const int AlignmentSlack = 64 / sizeof(float);

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    private static void ScaleC(int m, int n, float beta, float* c, int ldc)
    {
        if (beta == 1f)
        {
            return;
        }

        for (var i = 0; i < m; i++)
        {
            var row = new Span<float>(c + ((long)i * ldc), n);
            if (beta == 0f)
            {
                // Not a multiply: beta = 0 must discard NaN and infinity already in C.
                row.Clear();
            }
            else
            {
                TensorPrimitives.Multiply(row, beta, row);
            }
        }
    }

    // One task: an mc×nc block of C from packed panels. The A micro-panel (12 rows × kc) stays in L1
    // while the task's B micro-panels stream past it from L2.
    private static void Block(float* packA, float* packB, int kc, int mc, int nc, float* c, int ldc, Kernels kernels, bool overwrite, RowEpilogue epilogue)
    {
        // The edge tile on a cache line, like the tensors (CpuBuffer.Rent): the micro-kernel's stores stay within lines.
        var edgeSpace = stackalloc float[(Mr * Nr) + 15];
        var edge = CacheLine.Align(edgeSpace);
        for (var ir = 0; ir < mc; ir += Mr)
        {
            var mr = Math.Min(Mr, mc - ir);
            var aPanel = packA + ((long)ir * kc);
            for (var jr = 0; jr < nc; jr += Nr)
            {
                var nr = Math.Min(Nr, nc - jr);
                var bPanel = packB + ((long)jr * kc);
                var cTile = c + ((long)ir * ldc) + jr;
                if (nr == Nr && mr == Mr)
                {
                    MicroKernel(kernels, kc, aPanel, bPanel, cTile, ldc, overwrite);
                }
                else if (nr == Nr && mr == HalfMr)
                {
                    HalfMicroKernel(kernels, kc, aPanel, bPanel, cTile, ldc, overwrite);
                }
                else
                {
                    new Span<float>(edge, Mr * Nr).Clear();
                    if (mr <= HalfMr)
                    {
                        HalfMicroKernel(kernels, kc, aPanel, bPanel, edge, Nr, overwrite: false, nr);
                    }
                    else
                    {
                        MicroKernel(kernels, kc, aPanel, bPanel, edge, Nr, overwrite: false, nr);
                    }

                    for (var i = 0; i < mr; i++)
                    {
                        var dst = new Span<float>(cTile + ((long)i * ldc), nr);
                        var tile = new ReadOnlySpan<float>(edge + (i * Nr), nr);
                        if (overwrite)
                        {
                            tile.CopyTo(dst);
                        }
                        else
                        {
                            TensorPrimitives.Add(dst, tile, dst);
                        }
                    }
                }
            }

            // The strip of rows is complete and still in cache: one epilogue call per row, not per tile.
            epilogue.Apply(c + ((long)ir * ldc), ldc, ir, mr, nc);
        }
    }

    // C[12×32] += A-panel · B-panel (= with overwrite): one 512-bit kernel with 24 accumulators, or
    // four 6×16 quarters in 256-bit vectors (AVX2 has only 16 registers). An edge tile of at most 16
    // <paramref name="columns"/> skips the right quarters (the 512-bit kernel computes all 32 columns).
    private static void MicroKernel(Kernels kernels, int kc, float* a, float* b, float* c, int ldc, bool overwrite, int columns = Nr)
    {
        if (kernels == Kernels.Vector512 && Vector512.IsHardwareAccelerated)
        {
            MicroKernel512<AllRows>(kc, a, b, c, ldc, overwrite);
        }
        else
        {
            HalfMicroKernel(kernels, kc, a, b, c, ldc, overwrite, columns);
            HalfMicroKernel(kernels, kc, a + HalfMr, b, c + ((long)HalfMr * ldc), ldc, overwrite, columns);
        }
    }

    // C[6×32] += (or =) the first 6 rows of an A-panel · B-panel, for the last rows of A and the AVX2 path.
    private static void HalfMicroKernel(Kernels kernels, int kc, float* a, float* b, float* c, int ldc, bool overwrite, int columns = Nr)
    {
        if (kernels == Kernels.Vector512 && Vector512.IsHardwareAccelerated)
        {
            MicroKernel512<HalfRows>(kc, a, b, c, ldc, overwrite);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            MicroKernel256(kc, a, b, c, ldc, overwrite);
            if (columns > Nr / 2)
            {
                MicroKernel256(kc, a, b + 16, c + 16, ldc, overwrite);
            }
        }
        else
        {
            MicroKernelScalar(kc, a, b, c, ldc, overwrite);
        }
    }

    // C[12×32] (or its first 6 rows) += A-panel · B-panel in 24 (12) zmm accumulators. TRows is a
    // struct type argument, so the JIT compiles each row count separately and drops the other's code.
    private static void MicroKernel512<TRows>(int kc, float* a, float* b, float* c, int ldc, bool overwrite)
        where TRows : struct, IRowCount
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<float> c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector512.LoadAligned(b);
            var b1 = Vector512.LoadAligned(b + 16);
            RowFma(a[0], b0, b1, ref c00, ref c01);
            RowFma(a[1], b0, b1, ref c10, ref c11);
            RowFma(a[2], b0, b1, ref c20, ref c21);
            RowFma(a[3], b0, b1, ref c30, ref c31);
            RowFma(a[4], b0, b1, ref c40, ref c41);
            RowFma(a[5], b0, b1, ref c50, ref c51);
            if (TRows.Count == Mr)
            {
                RowFma(a[6], b0, b1, ref c60, ref c61);
                RowFma(a[7], b0, b1, ref c70, ref c71);
                RowFma(a[8], b0, b1, ref c80, ref c81);
                RowFma(a[9], b0, b1, ref c90, ref c91);
                RowFma(a[10], b0, b1, ref ca0, ref ca1);
                RowFma(a[11], b0, b1, ref cb0, ref cb1);
            }

            a += Mr;
            b += Nr;
        }

        AddRow(c, c00, c01, overwrite);
        AddRow(c + ldc, c10, c11, overwrite);
        AddRow(c + (2L * ldc), c20, c21, overwrite);
        AddRow(c + (3L * ldc), c30, c31, overwrite);
        AddRow(c + (4L * ldc), c40, c41, overwrite);
        AddRow(c + (5L * ldc), c50, c51, overwrite);
        if (TRows.Count == Mr)
        {
            AddRow(c + (6L * ldc), c60, c61, overwrite);
            AddRow(c + (7L * ldc), c70, c71, overwrite);
            AddRow(c + (8L * ldc), c80, c81, overwrite);
            AddRow(c + (9L * ldc), c90, c91, overwrite);
            AddRow(c + (10L * ldc), ca0, ca1, overwrite);
            AddRow(c + (11L * ldc), cb0, cb1, overwrite);
        }
    }

    /// <summary>How many rows of a panel a micro-kernel computes, as a type: see <see cref="MicroKernel512{TRows}"/>.</summary>
    private interface IRowCount
    {
        static abstract int Count { get; }
    }

    private struct AllRows : IRowCount
    {
        public static int Count => Mr;
    }

    private struct HalfRows : IRowCount
    {
        public static int Count => HalfMr;
    }

    // One row of a tile: (lo, hi) += a · (b0, b1).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowFma(float a, Vector512<float> b0, Vector512<float> b1, ref Vector512<float> lo, ref Vector512<float> hi)
    {
        var broadcast = Vector512.Create(a);
        lo = Vector512.FusedMultiplyAdd(broadcast, b0, lo);
        hi = Vector512.FusedMultiplyAdd(broadcast, b1, hi);
    }

    // One row of a tile into C: added, or stored over what C held (the first depth block when beta = 0).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* c, Vector512<float> lo, Vector512<float> hi, bool overwrite)
    {
        if (overwrite)
        {
            lo.Store(c);
            hi.Store(c + 16);
            return;
        }

        (Vector512.Load(c) + lo).Store(c);
        (Vector512.Load(c + 16) + hi).Store(c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> MulAdd(Vector256<float> x, Vector256<float> y, Vector256<float> acc) =>
        Fma.IsSupported ? Fma.MultiplyAdd(x, y, acc) : (x * y) + acc;

    // C[6×16] += A-panel · 16 columns of the 32-wide B panel.
    private static void MicroKernel256(int kc, float* a, float* b, float* c, int ldc, bool overwrite)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (var p = 0; p < kc; p++)
        {
            var b0 = Vector256.LoadAligned(b);
            var b1 = Vector256.LoadAligned(b + 8);
            var ai = Vector256.Create(a[0]);
            c00 = MulAdd(ai, b0, c00);
            c01 = MulAdd(ai, b1, c01);
            ai = Vector256.Create(a[1]);
            c10 = MulAdd(ai, b0, c10);
            c11 = MulAdd(ai, b1, c11);
            ai = Vector256.Create(a[2]);
            c20 = MulAdd(ai, b0, c20);
            c21 = MulAdd(ai, b1, c21);
            ai = Vector256.Create(a[3]);
            c30 = MulAdd(ai, b0, c30);
            c31 = MulAdd(ai, b1, c31);
            ai = Vector256.Create(a[4]);
            c40 = MulAdd(ai, b0, c40);
            c41 = MulAdd(ai, b1, c41);
            ai = Vector256.Create(a[5]);
            c50 = MulAdd(ai, b0, c50);
            c51 = MulAdd(ai, b1, c51);
            a += Mr;
            b += Nr;
        }

        AddRow(c, c00, c01, overwrite);
        AddRow(c + ldc, c10, c11, overwrite);
        AddRow(c + (2L * ldc), c20, c21, overwrite);
        AddRow(c + (3L * ldc), c30, c31, overwrite);
        AddRow(c + (4L * ldc), c40, c41, overwrite);
        AddRow(c + (5L * ldc), c50, c51, overwrite);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddRow(float* c, Vector256<float> lo, Vector256<float> hi, bool overwrite)
    {
        if (overwrite)
        {
            lo.Store(c);
            hi.Store(c + 8);
            return;
        }

        (Vector256.Load(c) + lo).Store(c);
        (Vector256.Load(c + 8) + hi).Store(c + 8);
    }

    private static void MicroKernelScalar(int kc, float* a, float* b, float* c, int ldc, bool overwrite)
    {
        var acc = stackalloc float[HalfMr * Nr];
        new Span<float>(acc, HalfMr * Nr).Clear();
        for (var p = 0; p < kc; p++, a += Mr, b += Nr)
        {
            for (var i = 0; i < HalfMr; i++)
            {
                var ai = a[i];
                for (var j = 0; j < Nr; j++)
                {
                    acc[(i * Nr) + j] += ai * b[j];
                }
            }
        }

        for (var i = 0; i < HalfMr; i++)
        {
            for (var j = 0; j < Nr; j++)
            {
                c[((long)i * ldc) + j] = (overwrite ? 0f : c[((long)i * ldc) + j]) + acc[(i * Nr) + j];
            }
        }
    }

    // Rows [row, row+6) of alpha·op(A), columns [pc, pc+kc), as kc groups of 6; missing rows are zero.
    private static void PackA(bool transA, float* a, int lda, int m, int row, int pc, int kc, float alpha, float* dst)
    {
        var rows = Math.Min(Mr, m - row);
        if (rows < Mr)
        {
            new Span<float>(dst, Mr * kc).Clear();
        }

        if (transA)
        {
            // Each depth step's 12 values are contiguous in op(A)ᵀ: one 8-wide and one 4-wide copy.
            var full = rows == Mr;
            for (var p = 0; p < kc; p++)
            {
                var src = a + ((long)(pc + p) * lda) + row;
                var d = dst + (p * Mr);
                if (full)
                {
                    (Vector256.Load(src) * alpha).Store(d);
                    (Vector128.Load(src + 8) * alpha).Store(d + 8);
                    continue;
                }

                for (var i = 0; i < rows; i++)
                {
                    d[i] = alpha * src[i];
                }
            }

            return;
        }

        // A full panel goes 8 columns at a time through an in-register transpose; the rest one by one.
        var done = 0;
        if (rows == Mr && Avx.IsSupported)
        {
            var panel = a + ((long)row * lda) + pc;
            var scale = Vector256.Create(alpha);
            for (; done + 8 <= kc; done += 8)
            {
                TransposeToPanel(panel + done, lda, scale, dst + (done * Mr));
            }
        }

        for (var i = 0; i < rows; i++)
        {
            var src = a + ((long)(row + i) * lda) + pc;
            for (var p = done; p < kc; p++)
            {
                dst[(p * Mr) + i] = alpha * src[p];
            }
        }
    }

    // 12 rows × 8 columns of A (rows lda apart), times alpha, written as 8 groups of 12: the
    // panel's layout. Packing A element by element, each scattered 12 floats apart, cost `bench gemm`
    // (which packs A on every call) a fifth of its speed.
    private static void TransposeToPanel(float* src, int lda, Vector256<float> scale, float* dst)
    {
        Transpose8x8(src, lda, scale, dst, Mr);

        // Rows 8–11: quads of columns j (low half) and j + 4 (high half).
        var r8 = Vector256.Load(src + (8L * lda)) * scale;
        var r9 = Vector256.Load(src + (9L * lda)) * scale;
        var r10 = Vector256.Load(src + (10L * lda)) * scale;
        var r11 = Vector256.Load(src + (11L * lda)) * scale;
        var u0 = Avx.UnpackLow(r8, r9);
        var u1 = Avx.UnpackHigh(r8, r9);
        var u2 = Avx.UnpackLow(r10, r11);
        var u3 = Avx.UnpackHigh(r10, r11);
        var q0 = Avx.Shuffle(u0, u2, 0x44);
        var q1 = Avx.Shuffle(u0, u2, 0xEE);
        var q2 = Avx.Shuffle(u1, u3, 0x44);
        var q3 = Avx.Shuffle(u1, u3, 0xEE);
        q0.GetLower().Store(dst + 8);
        q1.GetLower().Store(dst + Mr + 8);
        q2.GetLower().Store(dst + (2 * Mr) + 8);
        q3.GetLower().Store(dst + (3 * Mr) + 8);
        q0.GetUpper().Store(dst + (4 * Mr) + 8);
        q1.GetUpper().Store(dst + (5 * Mr) + 8);
        q2.GetUpper().Store(dst + (6 * Mr) + 8);
        q3.GetUpper().Store(dst + (7 * Mr) + 8);
    }

    // 8 rows × 8 columns at src (rows srcStride apart), times scale, stored transposed: column j's eight
    // values at dst + j·dstStride. The classic AVX transpose: pairs, then quads, then 128-bit halves.
    private static void Transpose8x8(float* src, long srcStride, Vector256<float> scale, float* dst, int dstStride)
    {
        var r0 = Vector256.Load(src) * scale;
        var r1 = Vector256.Load(src + srcStride) * scale;
        var r2 = Vector256.Load(src + (2 * srcStride)) * scale;
        var r3 = Vector256.Load(src + (3 * srcStride)) * scale;
        var r4 = Vector256.Load(src + (4 * srcStride)) * scale;
        var r5 = Vector256.Load(src + (5 * srcStride)) * scale;
        var r6 = Vector256.Load(src + (6 * srcStride)) * scale;
        var r7 = Vector256.Load(src + (7 * srcStride)) * scale;
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44);
        var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44);
        var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44);
        var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44);
        var s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Permute2x128(s0, s4, 0x20).Store(dst);
        Avx.Permute2x128(s1, s5, 0x20).Store(dst + dstStride);
        Avx.Permute2x128(s2, s6, 0x20).Store(dst + (2 * dstStride));
        Avx.Permute2x128(s3, s7, 0x20).Store(dst + (3 * dstStride));
        Avx.Permute2x128(s0, s4, 0x31).Store(dst + (4 * dstStride));
        Avx.Permute2x128(s1, s5, 0x31).Store(dst + (5 * dstStride));
        Avx.Permute2x128(s2, s6, 0x31).Store(dst + (6 * dstStride));
        Avx.Permute2x128(s3, s7, 0x31).Store(dst + (7 * dstStride));
    }

    // Columns [col, col+32) of op(B) (clipped at nEnd), rows [pc, pc+kc), as kc groups of 32.
    private static void PackB(bool transB, float* b, int ldb, int nEnd, int col, int pc, int kc, float* dst)
    {
        var cols = Math.Min(Nr, nEnd - col);
        if (transB)
        {
            if (cols < Nr)
            {
                new Span<float>(dst, Nr * kc).Clear();
            }

            // A full panel goes 8 depth steps × 8 columns at a time through a transpose, as A's does.
            var done = 0;
            if (cols == Nr && Avx.IsSupported)
            {
                var one = Vector256<float>.One;
                for (; done + 8 <= kc; done += 8)
                {
                    for (var group = 0; group < Nr; group += 8)
                    {
                        Transpose8x8(b + ((long)(col + group) * ldb) + pc + done, ldb, one, dst + (done * Nr) + group, Nr);
                    }
                }
            }

            for (var j = 0; j < cols; j++)
            {
                var src = b + ((long)(col + j) * ldb) + pc;
                for (var p = done; p < kc; p++)
                {
                    dst[(p * Nr) + j] = src[p];
                }
            }

            return;
        }

        for (var p = 0; p < kc; p++)
        {
            var src = b + ((long)(pc + p) * ldb) + col;
            var d = dst + (p * Nr);
            if (cols == Nr)
            {
                new ReadOnlySpan<float>(src, Nr).CopyTo(new Span<float>(d, Nr));
            }
            else
            {
                new ReadOnlySpan<float>(src, cols).CopyTo(new Span<float>(d, Nr));
                new Span<float>(d + cols, Nr - cols).Clear();
            }
        }
    }

    /// <summary>
    /// What a product does to its rows of C when they are complete: C[i, ·] = act(C[i, ·] + bias[i]),
    /// a convolution's bias and fused activation (rows are output channels). The default does nothing.
    /// </summary>
    internal readonly struct RowEpilogue(FusedActivation activation, float* bias)
    {
        private readonly FusedActivation _activation = activation;
        private readonly float* _bias = bias;
        private readonly bool _active = bias != null || activation.Kind != ActivationKind.None;

        /// <summary>The same epilogue for the rows from <paramref name="row"/> on.</summary>
        public RowEpilogue Offset(int row) => _active ? new(_activation, _bias == null ? null : _bias + row) : default;

        /// <summary>Applies it to rows [row, row + rows) of C, <paramref name="cols"/> wide, starting at <paramref name="c"/>.</summary>
        public void Apply(float* c, int ldc, int row, int rows, int cols)
        {
            if (!_active)
            {
                return;
            }

            for (var i = 0; i < rows; i++)
            {
                var values = new Span<float>(c + ((long)i * ldc), cols);
                ActivationKernel.Apply(_activation, values, values, 1f, _bias == null ? 0f : _bias[row + i]);
            }
        }
    }

    /// <summary>
    /// A left operand packed by <see cref="Pack"/>, 64-byte aligned. A per-call pack holds an array from
    /// the host pool, pinned until disposed; a lasting one (a model's cached weights, <see cref="PreparedWeights"/>) holds a
    /// pinned array the garbage collector reclaims with its owner, since a model is never disposed.
    /// </summary>
    internal sealed class PackedA : IDisposable
    {
        // A lasting pack's array, held so that it lives as long as the pack; a per-call pack's scratch.
        private readonly float[]? _lasting;
        private AlignedScratch _scratch;
        private float* _data;

        public PackedA(int m, int k, Kernels kernels, long length, bool lasting)
        {
            M = m;
            K = k;
            Kernels = kernels;
            if (!lasting)
            {
                _scratch = new AlignedScratch(checked((int)length));
                _data = _scratch.Pointer;
                return;
            }

            _lasting = GC.AllocateUninitializedArray<float>(checked((int)length + AlignmentSlack), pinned: true);
            var start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_lasting));
            _data = CacheLine.Align((float*)start);
        }

        public int M { get; }

        public int K { get; }

        /// <summary>The micro-kernels that multiply it (the layout is the same for all).</summary>
        public Kernels Kernels { get; }

        // The depth block starting at column pc: RoundUp(M, Mr) rows × its depth, panel by panel.
        public float* Block(int pc) => _data + ((long)pc * RoundUp(M, Mr));

        public void Dispose()
        {
            _scratch.Dispose();
            _data = null;
        }
    }
}
