namespace Salient.Engine.Tests.Kernels;

public class ResizeBilinearTests
{
    /// <summary>Plane p, element i holds ((p·31 + i·7) mod 11)/4 − 1, as the fixture script builds it.</summary>
    private static float[] Input(int planes, int height, int width) =>
        [.. Enumerable.Range(0, planes * height * width).Select(i => ((((i / (height * width)) * 31) + (i % (height * width) * 7)) % 11 / 4f) - 1f)];

    // Planes, in H, in W, out H, out W, align_corners, PyTorch 1.13's F.interpolate(mode="bilinear")
    // (tests/fixtures/kernels/make_resize_bilinear.py prints these rows).
    public static readonly TheoryData<int, int, int, int, int, bool, float[]> Cases = new()
    {
        { 2, 3, 4, 5, 7, false, [-1f, -0.374999911f, 0.62500006f, 0.249999881f, -0.124999806f, 0.875000298f, 1.5f, -0.399999946f, -0.167857096f, 0.203571409f, 0.300000012f, 0.396428704f, 0.767857254f, 0.99999994f, 0.49999994f, 0.142857075f, -0.428571373f, 0.375000179f, 1.17857122f, 0.607142627f, 0.249999925f, -0.250000089f, -0.0178571343f, 0.353571534f, 0.450000018f, 0.428571224f, -0.142857417f, -0.500000119f, -0.75f, -0.124999911f, 0.87500006f, 0.499999881f, -0.0714286864f, -0.642857313f, -1f, 1.25f, 0.892857075f, 0.321428537f, -0.250000119f, -0.624999821f, 0.375000298f, 1f, 0.74999994f, 0.392857045f, -0.178571492f, -0.199999988f, -0.103571318f, 0.267857254f, 0.49999994f, 8.94069672e-08f, -0.357142806f, -0.928571343f, -0.124999784f, 0.678571284f, 0.107142717f, -0.249999911f, 0.900000095f, 0.54285723f, -0.0285713263f, -0.0499999784f, 0.0464285612f, 0.417857319f, 0.650000155f, 1.5f, 1.14285707f, 0.571428537f, -1.1920929e-07f, -0.374999821f, 0.625000298f, 1.25f] },
        { 2, 3, 4, 5, 7, true, [-1f, -0.125f, 0.75f, 0.25f, -0.25f, 0.625f, 1.5f, -0.25f, -0.0625f, 0.125f, 0.3125f, 0.5f, 0.6875f, 0.875f, 0.5f, 0f, -0.5f, 0.375f, 1.25f, 0.75f, 0.25f, -0.125f, 0.0625f, 0.25f, 0.4375f, 0.625f, 0.125f, -0.375f, -0.75f, 0.125f, 1f, 0.5f, 0f, -0.5f, -1f, 1.25f, 0.75f, 0.25f, -0.25f, -0.75f, 0.125f, 1f, 0.625f, 0.125f, -0.375f, -0.1875f, 0f, 0.1875f, 0.375f, 0f, -0.5f, -1f, -0.125f, 0.75f, 0.25f, -0.25f, 0.75f, 0.25f, -0.25f, -0.0625f, 0.125f, 0.3125f, 0.5f, 1.5f, 1f, 0.5f, 0f, -0.5f, 0.375f, 1.25f] },
        { 2, 5, 7, 3, 4, false, [-0.270833343f, 0.270833313f, 0.12500003f, 0.4375f, 1.12499988f, -0.281249911f, 0.374999911f, 0.34374997f, 0.458333224f, -0.145833224f, 0.510416806f, 0.0208333135f, 0.71875f, -0.229166687f, 0.427083313f, -0.0624999925f, 0.62499994f, -0.78124994f, -0.124999933f, 0.87499994f, 0.302083313f, 0.958333194f, 0.0104167741f, 0.208333194f] },
        { 2, 5, 7, 3, 4, true, [-1f, -0.25f, 0.5f, 1.25f, 1.5f, -0.5f, 0.25f, 1f, 1.25f, -0.75f, 0f, 0.75f, 1.25f, -0.75f, 0f, 0.75f, 1f, -1f, -0.25f, 0.5f, 0.75f, 1.5f, -0.5f, 0.25f] },
        { 1, 4, 6, 8, 3, false, [-0.125f, 0.625f, 0f, 0.09375f, 0.5f, -0.125f, 0.53125f, 0.25f, -0.375f, 0.625f, 0.34375f, -0.28125f, 0.375f, 0.78125f, 0.15625f, 0.125f, 0.875f, 0.25f, -0.125f, 0.625f, 0f, -0.25f, 0.5f, -0.125f] },
        { 1, 4, 6, 8, 3, true, [-1f, 0.625f, -0.5f, -0.0357142463f, 0.410714269f, -0.714285731f, 0.928571463f, 0.196428567f, -0.928571463f, 1.10714293f, 0.375f, -0.357142866f, 0.892857134f, 0.75f, 0.607142925f, 0.678571403f, 0.928571403f, 1.17857134f, 0.464285702f, 0.714285731f, 0.964285731f, 0.25f, 0.5f, 0.75f] },
        { 1, 1, 5, 1, 9, false, [-1f, -0.416666597f, 0.555555701f, 0.305555463f, -0.249999791f, 0.722222447f, 1.38888872f, 0.833333135f, 0.5f] },
        { 1, 1, 5, 1, 9, true, [-1f, -0.125f, 0.75f, 0.25f, -0.25f, 0.625f, 1.5f, 1f, 0.5f] },
        { 1, 1, 9, 1, 4, false, [0.09375f, 1.28125f, -0.28125f, -0.125f] },
        { 1, 1, 9, 1, 4, true, [-1f, 0.916666806f, 0.0833336115f, -0.75f] },
        { 1, 6, 1, 3, 1, false, [-0.125f, 0.625f, 0f] },
        { 1, 6, 1, 3, 1, true, [-1f, 0.625f, -0.5f] },
        { 1, 1, 1, 3, 2, false, [-1f, -1f, -1f, -1f, -1f, -1f] },
        { 1, 1, 1, 3, 2, true, [-1f, -1f, -1f, -1f, -1f, -1f] },
        { 1, 4, 5, 1, 1, false, [0.5f] },
        { 1, 4, 5, 1, 1, true, [-1f] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_pytorch(int planes, int inHeight, int inWidth, int outHeight, int outWidth, bool alignCorners, float[] expected)
    {
        var output = Enumerable.Repeat(float.NaN, expected.Length).ToArray();

        Backends.Get("managed").ResizeBilinear(planes, inHeight, inWidth, Input(planes, inHeight, inWidth), outHeight, outWidth, output, alignCorners);

        Reference.AssertClose(expected, output, 1e-6f);
    }

    [Fact]
    public void Same_size_copies()
    {
        var input = Input(3, 5, 6);
        var output = new float[input.Length];

        Backends.Get("managed").ResizeBilinear(3, 5, 6, input, 5, 6, output, alignCorners: false);

        Assert.Equal(input, output);
    }

    [Fact]
    public void Mismatched_buffers_and_empty_planes_are_rejected()
    {
        var backend = Backends.Get("managed");
        Assert.Throws<ArgumentException>(() => backend.ResizeBilinear(1, 2, 2, new float[4], 3, 3, new float[8], alignCorners: false));
        Assert.Throws<ArgumentException>(() => backend.ResizeBilinear(1, 0, 2, default, 3, 3, new float[9], alignCorners: false));
    }

    [Fact]
    public void Many_planes_match_one_plane_at_a_time()
    {
        // Enough rows for the parallel path; each plane must come out as when resized alone.
        var input = Input(6, 20, 30);
        var output = new float[6 * 97 * 61];
        var backend = Backends.Get("managed");

        backend.ResizeBilinear(6, 20, 30, input, 97, 61, output, alignCorners: false);

        var single = new float[97 * 61];
        for (var p = 0; p < 6; p++)
        {
            backend.ResizeBilinear(1, 20, 30, input.AsMemory(p * 600, 600), 97, 61, single, alignCorners: false);
            Assert.Equal(single, output.AsSpan(p * single.Length, single.Length).ToArray());
        }
    }
}
