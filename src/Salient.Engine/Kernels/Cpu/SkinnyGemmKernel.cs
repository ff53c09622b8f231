using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// C = alpha·A·Bᵀ + beta·C for a few rows of A (at most <see cref="MaxRows"/>) with AVX-512: a
/// classifier's Gemm, a batch of feature rows against a weight matrix stored one output per row
/// (ONNX's transB = 1). The general GEMM packs both operands on every call; with a batch of 8, packing
/// B (a 1280×1000 classifier's 5 MB) is as much traffic as the product, which only needs B once.
/// Here every element of C is a dot product of two rows read in place: blocks of 4 rows of B against
/// groups of 4 rows of A, 16 sums in registers over the whole depth, B streamed once and A (a few
/// rows) kept in cache.
/// </summary>
internal static unsafe class SkinnyGemmKernel
{
    /// <summary>The most rows of A taken; the general GEMM's packing pays for itself beyond.</summary>
    public const int MaxRows = 8;

    private const int Lanes = 16;
    private const int Block = 4;

    // Rows of B per parallel task: 4 blocks, about 80 KB of a 1280-wide B.
    private const int RowsPerTask = 4 * Block;

    /// <summary>Whether this kernel runs the product: AVX-512, A not transposed, B transposed, few rows.</summary>
    public static bool Applies(bool transA, bool transB, int m) => Avx512F.IsSupported && !transA && transB && m <= MaxRows;

    /// <summary>C[m×n] = alpha·A[m×k]·B[n×k]ᵀ + beta·C (beta = 0: C is only written).</summary>
    public static void Run(int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc, int threads)
    {
        var tasks = (n + RowsPerTask - 1) / RowsPerTask;
        var job = new Job(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        if (threads <= 1)
        {
            for (var t = 0; t < tasks; t++)
            {
                job.Rows(t * RowsPerTask, Math.Min(n, (t + 1) * RowsPerTask));
            }

            return;
        }

        CpuParallel.For(tasks, (long)RowsPerTask * k * m, t => job.Rows(t * RowsPerTask, Math.Min(n, (t + 1) * RowsPerTask)));
    }

    private readonly struct Job(int m, int n, int k, float alpha, float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        // Columns [first, end) of C, every row.
        public void Rows(int first, int end)
        {
            for (var j = first; j < end; j += Block)
            {
                for (var i = 0; i < m; i += Block)
                {
                    Tile(i, j);
                }
            }
        }

        // C[i..i+4, j..j+4]: rows past m or n repeat the last one (computed, never stored).
        private void Tile(int i, int j)
        {
            var a0 = a + ((long)Math.Min(i, m - 1) * lda);
            var a1 = a + ((long)Math.Min(i + 1, m - 1) * lda);
            var a2 = a + ((long)Math.Min(i + 2, m - 1) * lda);
            var a3 = a + ((long)Math.Min(i + 3, m - 1) * lda);
            var b0 = b + ((long)Math.Min(j, n - 1) * ldb);
            var b1 = b + ((long)Math.Min(j + 1, n - 1) * ldb);
            var b2 = b + ((long)Math.Min(j + 2, n - 1) * ldb);
            var b3 = b + ((long)Math.Min(j + 3, n - 1) * ldb);
            Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default;
            Vector512<float> s10 = default, s11 = default, s12 = default, s13 = default;
            Vector512<float> s20 = default, s21 = default, s22 = default, s23 = default;
            Vector512<float> s30 = default, s31 = default, s32 = default, s33 = default;
            var p = 0;
            for (; p + Lanes <= k; p += Lanes)
            {
                var x0 = Vector512.Load(a0 + p);
                var x1 = Vector512.Load(a1 + p);
                var x2 = Vector512.Load(a2 + p);
                var x3 = Vector512.Load(a3 + p);
                Step(x0, x1, x2, x3, Vector512.Load(b0 + p), ref s00, ref s10, ref s20, ref s30);
                Step(x0, x1, x2, x3, Vector512.Load(b1 + p), ref s01, ref s11, ref s21, ref s31);
                Step(x0, x1, x2, x3, Vector512.Load(b2 + p), ref s02, ref s12, ref s22, ref s32);
                Step(x0, x1, x2, x3, Vector512.Load(b3 + p), ref s03, ref s13, ref s23, ref s33);
            }

            if (p < k)
            {
                // The last, partial vector: masked loads read zeros past the rows' ends.
                var mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(k - p)).AsSingle();
                var x0 = Avx512F.MaskLoad(a0 + p, mask, Vector512<float>.Zero);
                var x1 = Avx512F.MaskLoad(a1 + p, mask, Vector512<float>.Zero);
                var x2 = Avx512F.MaskLoad(a2 + p, mask, Vector512<float>.Zero);
                var x3 = Avx512F.MaskLoad(a3 + p, mask, Vector512<float>.Zero);
                Step(x0, x1, x2, x3, Avx512F.MaskLoad(b0 + p, mask, Vector512<float>.Zero), ref s00, ref s10, ref s20, ref s30);
                Step(x0, x1, x2, x3, Avx512F.MaskLoad(b1 + p, mask, Vector512<float>.Zero), ref s01, ref s11, ref s21, ref s31);
                Step(x0, x1, x2, x3, Avx512F.MaskLoad(b2 + p, mask, Vector512<float>.Zero), ref s02, ref s12, ref s22, ref s32);
                Step(x0, x1, x2, x3, Avx512F.MaskLoad(b3 + p, mask, Vector512<float>.Zero), ref s03, ref s13, ref s23, ref s33);
            }

            Store(i, j, s00, s01, s02, s03);
            Store(i + 1, j, s10, s11, s12, s13);
            Store(i + 2, j, s20, s21, s22, s23);
            Store(i + 3, j, s30, s31, s32, s33);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Step(Vector512<float> x0, Vector512<float> x1, Vector512<float> x2, Vector512<float> x3, Vector512<float> y,
            ref Vector512<float> s0, ref Vector512<float> s1, ref Vector512<float> s2, ref Vector512<float> s3)
        {
            s0 = Avx512F.FusedMultiplyAdd(x0, y, s0);
            s1 = Avx512F.FusedMultiplyAdd(x1, y, s1);
            s2 = Avx512F.FusedMultiplyAdd(x2, y, s2);
            s3 = Avx512F.FusedMultiplyAdd(x3, y, s3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Store(int row, int j, Vector512<float> s0, Vector512<float> s1, Vector512<float> s2, Vector512<float> s3)
        {
            if (row >= m)
            {
                return;
            }

            var dst = c + ((long)row * ldc) + j;
            var columns = Math.Min(Block, n - j);
            Span<float> sums = [Vector512.Sum(s0), Vector512.Sum(s1), Vector512.Sum(s2), Vector512.Sum(s3)];
            for (var q = 0; q < columns; q++)
            {
                dst[q] = (alpha * sums[q]) + (beta == 0f ? 0f : beta * dst[q]);
            }
        }
    }
}
