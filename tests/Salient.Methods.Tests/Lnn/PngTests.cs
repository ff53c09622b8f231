using Salient.Methods.Lnn.Plot;

namespace Salient.Methods.Tests.Lnn;

public sealed class PngTests
{
    [Fact]
    public void Crc32_matches_the_png_specification()
    {
        // The CRC of an IEND chunk (type bytes, no data) is fixed in every PNG file: AE 42 60 82.
        Assert.Equal(0xAE426082u, Png.Crc32("IEND"u8) ^ 0xFFFFFFFF);
        Assert.Equal(0xCBF43926u, Png.Crc32("123456789"u8) ^ 0xFFFFFFFF);
    }
}
