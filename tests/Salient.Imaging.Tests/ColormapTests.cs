namespace Salient.Imaging.Tests;

public sealed class ColormapTests
{
    // Entries of cv2.applyColorMap's COLORMAP_JET (RGB order), computed by replaying OpenCV's float32
    // steps (colormap.cpp: interp1 over the 256-sample table, convertTo(CV_8U, 255)) in NumPy.
    // Nearly every unsaturated entry is a rounding tie, so these pin the tie-breaking.
    [Theory]
    [InlineData(0, 0, 0, 128)]
    [InlineData(1, 0, 0, 132)]
    [InlineData(32, 0, 0, 255)]
    [InlineData(33, 0, 4, 255)]
    [InlineData(64, 0, 128, 255)]
    [InlineData(96, 2, 255, 254)]
    [InlineData(127, 126, 255, 130)]
    [InlineData(128, 130, 255, 126)]
    [InlineData(159, 254, 255, 1)]
    [InlineData(160, 255, 252, 0)]
    [InlineData(191, 255, 128, 0)]
    [InlineData(224, 252, 0, 0)]
    [InlineData(255, 128, 0, 0)]
    public void Jet_matches_opencv(int index, int r, int g, int b) => AssertEntry(Colormap.Jet, index, r, g, b);

    [Fact]
    public void Jet_is_octaves_piecewise_linear_jet_within_half_a_level()
    {
        var table = Colormaps.Table(Colormap.Jet);
        for (var i = 0; i < 256; i++)
        {
            for (var c = 0; c < 3; c++)
            {
                var exact = 255 * Math.Clamp(1.5 - Math.Abs((4.0 * i / 255) - 3 + c), 0, 1);
                Assert.InRange(table[(i * 3) + c], exact - 0.5 - 1e-9, exact + 0.5 + 1e-9);
            }
        }
    }

    [Theory]
    [InlineData(Colormap.Turbo, 0, 48, 18, 59)]
    [InlineData(Colormap.Turbo, 128, 164, 252, 60)]
    [InlineData(Colormap.Turbo, 255, 122, 4, 3)]
    [InlineData(Colormap.Viridis, 0, 68, 1, 84)]
    [InlineData(Colormap.Viridis, 64, 59, 82, 139)]
    [InlineData(Colormap.Viridis, 128, 33, 145, 140)]
    [InlineData(Colormap.Viridis, 192, 94, 201, 98)]
    [InlineData(Colormap.Viridis, 255, 253, 231, 37)]
    [InlineData(Colormap.Gray, 0, 0, 0, 0)]
    [InlineData(Colormap.Gray, 77, 77, 77, 77)]
    [InlineData(Colormap.Gray, 255, 255, 255, 255)]
    public void Tables_hold_the_published_values(Colormap colormap, int index, int r, int g, int b) => AssertEntry(colormap, index, r, g, b);

    [Fact]
    public void Names_parse_case_insensitively_and_round_trip()
    {
        Assert.Equal(["jet", "turbo", "viridis", "gray"], Colormaps.Names);
        foreach (var colormap in Enum.GetValues<Colormap>())
        {
            Assert.Equal(768, Colormaps.Table(colormap).Length);
            Assert.Equal(colormap, Colormaps.Parse(Colormaps.Name(colormap)));
        }

        Assert.Equal(Colormap.Viridis, Colormaps.Parse("Viridis"));
    }

    [Theory]
    [InlineData("hot")]
    [InlineData("1")]
    [InlineData("")]
    public void An_unknown_name_lists_the_valid_ones(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => Colormaps.Parse(name));

        Assert.Contains($"'{name}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("jet, turbo, viridis, gray", e.Message, StringComparison.Ordinal);
    }

    private static void AssertEntry(Colormap colormap, int index, int r, int g, int b) =>
        Assert.Equal([(byte)r, (byte)g, (byte)b], Colormaps.Table(colormap).Slice(index * 3, 3).ToArray());
}
