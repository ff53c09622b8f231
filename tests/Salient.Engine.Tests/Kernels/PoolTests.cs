using Salient.Engine.Kernels;

namespace Salient.Engine.Tests.Kernels;

public class PoolTests
{
    // Batch, C, H, W, KH, KW, SH, SW, PT, PL, PB, PR, DH, DW, ceil; shared with the backward tests.
    internal static readonly int[][] Geometries =
    [
        [2, 3, 9, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0], // ResNet max pool, odd size
        [1, 2, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1], // ceil_mode window past the padded bounds
        [1, 2, 7, 10, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, 1], // ceil_mode window past the input, no padding
        [3, 1, 11, 6, 3, 2, 2, 1, 1, 0, 2, 1, 1, 1, 1], // asymmetric padding, ceil_mode
        [1, 2, 10, 9, 3, 3, 1, 2, 2, 1, 2, 1, 2, 2, 0], // dilation
        [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0], // trivial
        [2, 4, 7, 7, 7, 7, 1, 1, 0, 0, 0, 0, 1, 1, 0], // global window
        [1, 3, 5, 6, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1], // stride = kernel, ceil_mode
    ];

    public static readonly TheoryData<int> MaxCases = [.. Enumerable.Range(0, Geometries.Length)];

    public static readonly TheoryData<int, bool> AvgCases = Build();

    private static TheoryData<int, bool> Build()
    {
        var data = new TheoryData<int, bool>();
        for (var i = 0; i < Geometries.Length; i++)
        {
            data.Add(i, false);
            data.Add(i, true);
        }

        return data;
    }

    internal static Pool2dGeometry Geometry(int index)
    {
        var v = Geometries[index];
        return new Pool2dGeometry(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14] != 0);
    }

    [Theory]
    [MemberData(nameof(MaxCases))]
    public void MaxPool2d_matches_reference(int index)
    {
        var g = Geometry(index);
        var input = Reference.Random(g.Batch * g.Channels * g.InHeight * g.InWidth, index);
        var expected = Reference.Pool(g, input, max: true, countIncludePad: false);
        var output = new float[expected.Length];

        Backends.Get("managed").MaxPool2d(g, input, output);

        Reference.AssertClose(expected, output, 0f);
    }

    // Rows wide enough for vectors, with a part vector at the end: ResNet's 3×3/2 pool (odd and even
    // widths; 112 columns, three whole 16-output steps and a masked half; 9 columns without padding at
    // the end), stride 1 and 3, dilated columns, ceil_mode windows past the padding, a window wider than the row.
    private static readonly int[][] s_wideMaxGeometries =
    [
        [2, 3, 37, 38, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0],
        [1, 2, 12, 67, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1],
        [1, 2, 9, 40, 2, 3, 1, 1, 0, 1, 1, 1, 1, 1, 0],
        [1, 2, 10, 53, 3, 4, 3, 3, 1, 2, 1, 2, 1, 1, 1],
        [1, 1, 8, 45, 3, 3, 2, 2, 1, 2, 1, 2, 1, 3, 0],
        [1, 1, 4, 20, 2, 25, 1, 2, 0, 3, 0, 3, 1, 1, 0],
        [1, 2, 9, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 0],
        [2, 2, 6, 9, 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 0],
    ];

    public static readonly TheoryData<int> WideMaxCases = [.. Enumerable.Range(0, s_wideMaxGeometries.Length)];

    [Theory]
    [MemberData(nameof(WideMaxCases))]
    public void MaxPool2d_on_wide_rows_matches_reference(int index)
    {
        var v = s_wideMaxGeometries[index];
        var g = new Pool2dGeometry(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[13], v[14] != 0);
        var input = Reference.Random(g.Batch * g.Channels * g.InHeight * g.InWidth, 50 + index);
        input[index * 7] = float.NaN;
        var expected = Reference.Pool(g, input, max: true, countIncludePad: false);
        var output = new float[expected.Length];

        Backends.Get("managed").MaxPool2d(g, input, output);

        Assert.Contains(expected, float.IsNaN);
        Assert.Equal(expected.Select(float.IsNaN), output.Select(float.IsNaN));
        Reference.AssertClose([.. expected.Select(x => float.IsNaN(x) ? 0f : x)], [.. output.Select(x => float.IsNaN(x) ? 0f : x)], 0f);
    }

    [Theory]
    [MemberData(nameof(AvgCases))]
    public void AvgPool2d_matches_reference(int index, bool countIncludePad)
    {
        var g = Geometry(index);
        var input = Reference.Random(g.Batch * g.Channels * g.InHeight * g.InWidth, index);
        var expected = Reference.Pool(g, input, max: false, countIncludePad);
        var output = new float[expected.Length];

        Backends.Get("managed").AvgPool2d(g, countIncludePad, input, output);

        Reference.AssertClose(expected, output, 1e-5f);
    }

    [Fact]
    public void Ceil_mode_divisor_counts_padding_only_up_to_the_padded_bounds()
    {
        // 1×1×8×8 of ones, 3×3 stride 2 pad 1, ceil_mode: the last window covers rows 7, 8 (padding)
        // and 9 (past the padding), so its divisor counts 2 rows with count_include_pad.
        var g = new Pool2dGeometry(1, 1, 8, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true);
        Assert.Equal(5, g.OutHeight);
        var input = Enumerable.Repeat(1f, 64).ToArray();
        var output = new float[25];

        Backends.Get("managed").AvgPool2d(g, true, input, output);

        Assert.Equal(4f / 9f, output[0], 6); // corner: 2×2 inside, 3×3 counted
        Assert.Equal(1f / 4f, output[24], 6); // last: 1×1 inside, 2×2 counted
    }

    [Fact]
    public void GlobalAvgPool_averages_each_plane()
    {
        var input = Reference.Random(6 * 49, 5);
        var output = new float[6];

        Backends.Get("managed").GlobalAvgPool(6, 49, input, output);

        var expected = Enumerable.Range(0, 6).Select(p => (float)input.Skip(p * 49).Take(49).Average(x => (double)x)).ToArray();
        Reference.AssertClose(expected, output, 1e-5f);
    }
}
