namespace Salient.Engine.Tests.Kernels;

public class GemmTests
{
    public static readonly TheoryData<string, bool, bool, int, int, int, int, float, float> Cases = Build();

    private static TheoryData<string, bool, bool, int, int, int, int, float, float> Build()
    {
        var data = new TheoryData<string, bool, bool, int, int, int, int, float, float>();
        (int M, int N, int K, int Pad, float Alpha, float Beta)[] shapes =
        [
            (1, 1, 1, 0, 1f, 0f),
            (7, 13, 5, 3, 1f, 1f),
            (6, 16, 256, 0, 0.5f, 0f),
            (33, 17, 29, 1, -1.5f, 0.25f),
            (50, 70, 300, 5, 1f, -0.7f),
            (100, 290, 140, 2, 1f, 0f),
            (97, 41, 513, 0, 2f, 1f),
            (18, 70, 400, 1, 1f, 0.5f),
            (5, 4100, 3, 1, 1f, 0f),
            (4, 9, 0, 0, 1f, 0.5f),
            (0, 9, 4, 0, 1f, 0.5f),
        ];
        foreach (var backend in Backends.GemmNames)
        {
            foreach (var (m, n, k, pad, alpha, beta) in shapes)
            {
                foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
                {
                    data.Add(backend, ta, tb, m, n, k, pad, alpha, beta);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gemm_matches_reference(string backend, bool transA, bool transB, int m, int n, int k, int pad, float alpha, float beta)
    {
        var lda = (transA ? m : k) + pad;
        var ldb = (transB ? k : n) + pad;
        var ldc = n + pad;
        var a = Reference.Random(Math.Max(1, (transA ? k : m) * lda), 1);
        var b = Reference.Random(Math.Max(1, (transB ? n : k) * ldb), 2);
        var c = Reference.Random(Math.Max(1, m * ldc), 3);
        if (beta == 0f)
        {
            // beta = 0 must overwrite C, NaN included.
            Array.Fill(c, float.NaN);
        }

        var expected = (float[])c.Clone();
        Reference.Gemm(transA, transB, m, n, k, alpha, a, Math.Max(1, lda), b, Math.Max(1, ldb), beta, expected, Math.Max(1, ldc));
        Backends.Get(backend).Gemm(transA, transB, m, n, k, alpha, a, Math.Max(1, lda), b, Math.Max(1, ldb), beta, c, Math.Max(1, ldc));

        // Padding between rows of C is not part of C; compare only the m×n elements.
        for (var i = 0; i < m; i++)
        {
            Reference.AssertClose(expected.AsSpan(i * ldc, n), c.AsSpan(i * ldc, n), 2e-4f);
        }
    }

    [Fact]
    public void Gemm_rejects_buffers_too_small_for_the_shape() =>
        Assert.Throws<ArgumentException>(() => Backends.Get("managed").Gemm(false, false, 4, 4, 4, 1f, new float[15], 4, new float[16], 4, 0f, new float[16], 4));
}
