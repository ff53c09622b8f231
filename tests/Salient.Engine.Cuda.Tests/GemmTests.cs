using ILGPU;
using ILGPU.Runtime;
using Salient.Engine.Cuda.Kernels;
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

    // Each case on each tile configuration: transA, transB, m, n, k, alpha, beta, padding of the
    // leading dimensions, and where A and B start in their buffers. Sizes leave tails in M, N and K
    // for both tiles (128 + 2, 64 + 5, 37 = 2·16 + 5 = 4·8 + 5); the padding makes the leading
    // dimensions multiples of 4 (16-byte loads) or not, per case as the comments say.
    private static readonly (bool TransA, bool TransB, int M, int N, int K, float Alpha, float Beta, int Pad, int Start)[] s_tiled =
    [
        (false, false, 130, 133, 37, 1f, 0f, 3, 0), // lda 40, ldb 136: both vectorised
        (false, false, 130, 133, 37, 1f, 0.5f, 0, 0), // lda 37, ldb 133: both scalar
        (true, false, 69, 129, 45, 0.5f, 1f, 3, 0), // lda 72 vectorised, ldb 132 vectorised, Aᵀ
        (false, true, 129, 70, 24, 2f, -0.25f, 1, 0), // lda 25 scalar, ldb 25 scalar, Bᵀ
        (true, true, 131, 131, 19, 1f, 0f, 1, 4), // lda 132, ldb 20, views 4 floats in: vectorised
        (false, false, 66, 68, 40, 1f, 0f, 0, 2), // lda 40, ldb 68 but views 2 floats in: scalar
        (false, false, 3, 5, 2, 1f, 0f, 2, 0), // smaller than a run of four
    ];

    public static readonly TheoryData<string, GemmTiles, int> TiledCases = BuildTiled();

    private static TheoryData<string, GemmTiles, int> BuildTiled()
    {
        var data = new TheoryData<string, GemmTiles, int>();
        foreach (var device in Devices.Names)
        {
            foreach (var tiles in new[] { GemmTiles.Small, GemmTiles.Large })
            {
                for (var i = 0; i < s_tiled.Length; i++)
                {
                    data.Add(device, tiles, i);
                }
            }
        }

        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(TiledCases))]
    public void Gemm_matches_the_cpu_backend_with_each_tile_configuration(string device, GemmTiles tiles, int index)
    {
        var d = Devices.Get(device);
        var kernels = d.KernelsWith(tiles);
        var (transA, transB, m, n, k, alpha, beta, pad, start) = s_tiled[index];
        int lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad;
        var aLength = (transA ? k : m) * lda;
        var bLength = (transB ? n : k) * ldb;
        var a = Reference.Random(start + aLength, 11);
        var b = Reference.Random(start + bLength, 12);
        var c = Reference.Random(m * ldc, 13);
        var expected = (float[])c.Clone();
        Devices.Cpu.Gemm(transA, transB, m, n, k, alpha, a[start..], lda, b[start..], ldb, beta, expected, ldc);

        var actual = d.Run(c, (x, y) => kernels.Gemm(transA, transB, m, n, k, alpha,
            x[0].SubView(start, aLength), lda, x[1].SubView(start, bLength), ldb, beta, y, ldc), a, b);

        Reference.AssertClose(expected, actual);
    }

    [SkippableTheory]
    [MemberData(nameof(Devices.Names), MemberType = typeof(Devices))]
    public void Dense_operands_read_four_values_at_once_only_where_every_run_is_16_byte_aligned(string device)
    {
        var d = Devices.Get(device);
        using var buffer = d.Device.Accelerator.Allocate1D<float>(64);
        var view = buffer.View.AsContiguous();
        Assert.True(new DenseOperand(view, false, 8, BatchMap.Strided(0)).Vectorized);
        Assert.True(new DenseOperand(view.SubView(4), true, 12, new BatchMap(2, 16, 8)).Vectorized);
        Assert.False(new DenseOperand(view, false, 6, BatchMap.Strided(0)).Vectorized);
        Assert.False(new DenseOperand(view.SubView(2), false, 8, BatchMap.Strided(0)).Vectorized);
        Assert.False(new DenseOperand(view, false, 8, BatchMap.Strided(18)).Vectorized);
        Assert.False(new DenseOperand(view, false, 8, new BatchMap(2, 16, 6)).Vectorized);
    }

    [Theory]
    [InlineData(128, 128, 1, 1, GemmTiles.Large)]
    [InlineData(127, 4096, 1, 1, GemmTiles.Small)] // M under one large tile
    [InlineData(4096, 100, 64, 1, GemmTiles.Small)] // N under one large tile
    [InlineData(512, 512, 1, 132, GemmTiles.Small)] // 16 large groups for 132 multiprocessors
    [InlineData(512, 512, 9, 132, GemmTiles.Large)] // 144 large groups
    public void Large_tiles_are_chosen_where_both_sides_span_one_and_the_grid_fills_the_device(int m, int n, int batch, int multiprocessors, GemmTiles expected) =>
        Assert.Equal(expected, GemmKernel.Choose(new GemmShape(m, n, 64), batch, multiprocessors));

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
