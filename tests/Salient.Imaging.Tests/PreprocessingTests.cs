using Salient.Imaging.Internal;

namespace Salient.Imaging.Tests;

public sealed class PreprocessingTests
{
    private static ImagePreprocessor WithResize(int? resize, int height = 224, int width = 224) => new(new ModelCard
    {
        Channels = 3,
        Height = height,
        Width = width,
        Resize = resize,
        Mean = [0f, 0f, 0f],
        Std = [1f, 1f, 1f],
    });

    [Theory]
    [InlineData(375, 500, 256, 256, 341)] // int(256 * 500 / 375) = int(341.33)
    [InlineData(500, 375, 256, 341, 256)]
    [InlineData(300, 300, 256, 256, 256)]
    [InlineData(37, 53, 64, 64, 91)]      // int(91.67): truncation, not rounding
    [InlineData(3, 1000, 7, 7, 2333)]
    public void Resize_of_the_shorter_side_follows_torchvision(int h, int w, int size, int expectedH, int expectedW)
    {
        Assert.Equal((expectedH, expectedW), WithResize(size).ResizedSize(h, w));
    }

    [Fact]
    public void Resize_without_a_shorter_side_goes_straight_to_the_input_size()
    {
        Assert.Equal((40, 50), WithResize(null, 40, 50).ResizedSize(480, 640));
    }

    [Theory]
    [InlineData(256, 224, 16)]
    [InlineData(257, 224, 16)] // round(16.5) = 16: Python rounds half to even
    [InlineData(259, 224, 18)] // round(17.5) = 18
    [InlineData(224, 224, 0)]
    [InlineData(20, 25, -2)]   // padded by (25 - 20) // 2 on the leading side
    public void Center_crop_offset_follows_torchvision(int size, int crop, int offset)
    {
        Assert.Equal(offset, ImagePreprocessor.CropOffset(size, crop));
    }

    [Fact]
    public void Cmyk_converts_as_pillow_does_for_adobe_inverted_data()
    {
        // Pillow: Image.new("CMYK", ..., (10, 20, 30, 40)).convert("RGB") == (207, 198, 190);
        // a JPEG stores those inks inverted.
        byte[] stored = [245, 235, 225, 215, 255, 255, 255, 255, 0, 0, 0, 0];
        var rgb = new byte[9];

        JpegDecoder.CmykToRgb(stored, rgb);

        Assert.Equal(new byte[] { 207, 198, 190, 255, 255, 255, 0, 0, 0 }, rgb);
    }

    [Fact]
    public void Luma_uses_pillows_fixed_point_weights()
    {
        // (R*19595 + G*38470 + B*7471 + 0x8000) >> 16; (R*299 + G*587 + B*114) / 1000 gives 123 for the third.
        byte[] rgb = [0, 0, 0, 255, 255, 255, 10, 200, 30, 1, 2, 3];

        var gray = ImagePreprocessor.ToLuma(rgb, new byte[4]).ToArray();

        Assert.Equal(new byte[] { 0, 255, 124, 2 }, gray);
    }

    [Fact]
    public void Upscaling_a_constant_image_keeps_it_constant()
    {
        using var image = RgbImage.Create(3, 2);
        image.Pixels.Fill(77);
        var output = new byte[7 * 5 * 3];

        PillowResample.ResizeCrop(image.Pixels, 3, 2, 3, 7, 5, 0, 0, 7, 5, output);

        Assert.All(output, v => Assert.Equal(77, v));
    }

    [Fact]
    public void Extreme_downscale_with_hundreds_of_taps_keeps_a_constant_image_constant()
    {
        using var image = RgbImage.Create(4, 900);
        image.Pixels.Fill(200);
        var output = new byte[3 * 2 * 3];

        PillowResample.ResizeCrop(image.Pixels, 4, 900, 3, 3, 2, 0, 0, 3, 2, output);

        Assert.All(output, v => Assert.Equal(200, v));
    }

    [Fact]
    public void Missing_native_library_names_the_debian_package()
    {
        var e = Assert.Throws<DllNotFoundException>(() => NativeLibraries.Load(
            ["libsalient-does-not-exist.so.9"], "a test library", "libsalient-test0", typeof(RgbImage).Assembly, null));

        Assert.Contains("apt-get install libsalient-test0", e.Message, StringComparison.Ordinal);
    }
}
