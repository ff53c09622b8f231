namespace Salient.Imaging.Tests;

public sealed class DecodeErrorTests
{
    [Theory]
    [InlineData("truncated.jpg", "truncated")]
    [InlineData("bomb.png", "megapixels")]
    [InlineData("empty.jpg", "empty")]
    [InlineData("garbage.png", "not a JPEG or PNG")]
    [InlineData("does-not-exist.png", "does-not-exist.png")]
    public void Bad_input_is_an_ImageDecodeException_naming_the_file(string file, string problem)
    {
        var path = ImagingFixtures.PathOf(file);

        var e = Assert.Throws<ImageDecodeException>(() => RgbImage.Load(path));

        Assert.Equal(path, e.InputName);
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rgb.jpg")]
    [InlineData("rgba.png")]
    public void Pixel_limit_is_checked_from_the_header(string file)
    {
        var data = File.ReadAllBytes(ImagingFixtures.PathOf(file));

        var e = Assert.Throws<ImageDecodeException>(() => RgbImage.Decode(data, "upload #7", maxPixels: 1000));

        Assert.Contains("upload #7", e.Message, StringComparison.Ordinal);
        Assert.Contains("over the limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Corrupt_png_data_reports_libspngs_error()
    {
        var data = File.ReadAllBytes(ImagingFixtures.PathOf("rgb.png"));
        data[data.Length / 2] ^= 0xFF;

        var e = Assert.Throws<ImageDecodeException>(() => RgbImage.Decode(data, "flipped.png"));

        Assert.Contains("flipped.png", e.Message, StringComparison.Ordinal);
        Assert.Contains("PNG", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Jpeg_cut_anywhere_is_rejected()
    {
        var data = File.ReadAllBytes(ImagingFixtures.PathOf("rgb_progressive_444.jpg"));
        for (var length = 3; length < data.Length - 1; length += 97)
        {
            var e = Assert.Throws<ImageDecodeException>(() => RgbImage.Decode(data.AsSpan(0, length), $"cut at {length}"));
            Assert.Contains($"cut at {length}", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Png_cut_before_the_end_of_its_image_data_is_reported_as_truncated()
    {
        // rgba.png ends with the last IDAT's CRC (4 bytes) and IEND (12 bytes).
        var data = File.ReadAllBytes(ImagingFixtures.PathOf("rgba.png"));
        for (var length = 9; length < data.Length - 16; length += 89)
        {
            var e = Assert.Throws<ImageDecodeException>(() => RgbImage.Decode(data.AsSpan(0, length), $"cut at {length}"));
            Assert.Contains($"cut at {length}", e.Message, StringComparison.Ordinal);
            Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Trailing_bytes_after_the_image_are_accepted_as_pillow_does()
    {
        byte[] data = [.. File.ReadAllBytes(ImagingFixtures.PathOf("rgb.jpg")), 1, 2, 3, 4];

        using var image = RgbImage.Decode(data, "trailing.jpg");

        Assert.Equal(200, image.Width);
    }

    [Fact]
    public void Corrupt_data_warnings_on_a_complete_file_are_tolerated_as_pillow_does()
    {
        // Bytes between the last scan and EOI make libjpeg warn "extraneous bytes before marker".
        var clean = File.ReadAllBytes(ImagingFixtures.PathOf("rgb.jpg"));
        byte[] data = [.. clean.AsSpan(0, clean.Length - 2), 0x12, 0x34, 0x56, 0x78, 0xFF, 0xD9];
        using var expected = RgbImage.Decode(clean, "clean.jpg");

        using var image = RgbImage.Decode(data, "extraneous.jpg");

        Assert.True(image.Pixels.SequenceEqual(expected.Pixels));
    }

    [Fact]
    public void Disposed_image_refuses_access()
    {
        var image = RgbImage.Create(2, 2);
        image.Dispose();
        Assert.Throws<ObjectDisposedException>(() => image.Pixels.Length);
    }
}
