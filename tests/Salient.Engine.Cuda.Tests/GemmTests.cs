using Salient.Engine.Tests.Kernels;

namespace Salient.Engine.Cuda.Tests;

public class GemmTests
{
    // transA, transB, m, n, k, alpha, beta, padding of the leading dimensions.
    private static readonly (bool TransA, bool TransB, int M, int N, int K, float Alpha, float Beta, int Pad)[] s_shapes =
    [
        (false, false, 37, 29, 23, 1f, 0f, 0),
        (true, false, 64, 65, 17, 0.5f, 1f, 3),
        (false, true, 5, 130, 70, 1f, -0.25f, 1),
        (true, true, 70, 3, 33, 2f, 0f, 0),
        (false, false, 1, 1, 1, 1f, 0f, 0),
        (false, false, 9, 7, 0, 1f, 0.5f, 0),
    ];

    // Built from the shapes above, so declared after them (static fields initialise in order).
    public static readonly TheoryData<string, int> Cases = Build();

    private static TheoryData<string, int> Build()
    {
        var data = new TheoryData<string, int>();
        foreach (var device in Devices.Names)
        {
            for (var i = 0; i < s_shapes.Length; i++)
            {
                data.Add(device, i);
            }
        }

        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Cases))]
    public void Gemm_matches_the_cpu_backend(string device, int index)
    {
        var d = Devices.Get(device);
        var (transA, transB, m, n, k, alpha, beta, pad) = s_shapes[index];
        int lda = Math.Max(1, (transA ? m : k) + pad), ldb = Math.Max(1, (transB ? k : n) + pad), ldc = n + pad;
        var a = Reference.Random(Math.Max(1, (transA ? k : m) * lda), 1);
        var b = Reference.Random(Math.Max(1, (transB ? n : k) * ldb), 2);
        var c = Reference.Random(m * ldc, 3);
        var expected = (float[])c.Clone();
        Devices.Cpu.Gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);

        var actual = d.Run(c, (x, y) => d.Kernels.Gemm(transA, transB, m, n, k, alpha, x[0], lda, x[1], ldb, beta, y, ldc), a, b);

        Reference.AssertClose(expected, actual);
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void Gemm_rejects_a_matrix_shorter_than_its_shape(string device)
    {
        var d = Devices.Get(device);
        var error = Assert.Throws<ArgumentException>(() =>
            d.Run(new float[4], (x, y) => d.Kernels.Gemm(false, false, 2, 2, 3, 1f, x[0], 3, x[1], 2, 0f, y, 2), new float[5], new float[6]));
        Assert.Contains("A needs 6 elements", error.Message, StringComparison.Ordinal);
    }
}
