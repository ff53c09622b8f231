using System.Buffers.Binary;
using System.IO.Compression;

namespace Salient.Imaging.Tests;

public sealed class PngEncoderTests
{
    public static TheoryData<PngColorType, int, int> Shapes()
    {
        var data = new TheoryData<PngColorType, int, int>();
        foreach (var type in new[] { PngColorType.Gray, PngColorType.Rgb, PngColorType.Rgba })
        {
            foreach (var (w, h) in new[] { (1, 1), (1, 7), (7, 1), (3, 5), (33, 29), (224, 224) })
            {
                data.Add(type, w, h);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Round_trips_through_libspng_and_an_independent_reader(PngColorType type, int width, int height)
    {
        var channels = Channels(type);
        var pixels = TestImage(width, height, channels, seed: width + (31 * height));

        var png = Encode(pixels, width, height, type);

        var decoded = ReferencePng.Read(png);
        Assert.Equal((width, height, channels), (decoded.Width, decoded.Height, decoded.Channels));
        Assert.Equal(pixels, decoded.Pixels);

        // libspng gives RGB as Pillow's convert("RGB"): gray replicated, alpha dropped.
        using var image = RgbImage.Decode(png, "encoded.png");
        Assert.Equal((width, height), (image.Width, image.Height));
        var rgb = image.Pixels.ToArray();
        for (var p = 0; p < width * height; p++)
        {
            for (var c = 0; c < 3; c++)
            {
                Assert.Equal(pixels[(p * channels) + (channels == 1 ? 0 : c)], rgb[(p * 3) + c]);
            }
        }
    }

    [Fact]
    public void Rows_get_the_filter_that_predicts_them_best()
    {
        // Row 0 is noise. Rows 1-4 are what None, Sub, Up and Average predict exactly (a row Paeth
        // predicts exactly is a copy of the one above, where Up ties and wins). Rows 5 and 6 are
        // g(x) + 150 and g(x) + 125 with g stepping by 30 every other pixel: Paeth then misses by
        // at most 25 where Sub misses by 30 or 90, Up by 25 everywhere and Average by about 12.
        const int Width = 40, Bpp = 3, RowBytes = Width * Bpp;
        var pixels = TestImage(Width, 7, Bpp, seed: 5);
        for (var y = 1; y < 7; y++)
        {
            for (var i = 0; i < RowBytes; i++)
            {
                int a = i >= Bpp ? pixels[(y * RowBytes) + i - Bpp] : 0, b = pixels[((y - 1) * RowBytes) + i];
                var g = 30 * (i / Bpp % 8 / 2);
                pixels[(y * RowBytes) + i] = y switch
                {
                    1 => 0,
                    2 => (byte)(a + 1 + (i % 5)),
                    3 => (byte)b,
                    4 => (byte)((a + b) >> 1),
                    5 => (byte)(g + 150),
                    _ => (byte)(g + 125),
                };
            }
        }

        var png = Encode(pixels, Width, 7, PngColorType.Rgb);

        var decoded = ReferencePng.Read(png);
        Assert.Equal(pixels, decoded.Pixels);
        Assert.Equal([0, 1, 2, 3], decoded.Filters[1..5]);
        Assert.Equal(4, decoded.Filters[6]);
        using var image = RgbImage.Decode(png, "filters.png");
        Assert.Equal(pixels, image.Pixels.ToArray());
    }

    [Fact]
    public void Large_images_are_split_into_several_idat_chunks()
    {
        var pixels = new byte[400 * 300 * 3];
        new Random(7).NextBytes(pixels);

        var png = Encode(pixels, 400, 300, PngColorType.Rgb);

        var decoded = ReferencePng.Read(png);
        Assert.True(decoded.IdatChunks > 1, $"{decoded.IdatChunks} IDAT chunk(s)");
        Assert.Equal(pixels, decoded.Pixels);
        using var image = RgbImage.Decode(png, "noise.png");
        Assert.Equal(pixels, image.Pixels.ToArray());
    }

    [Fact]
    public void File_and_image_overloads_write_the_same_bytes_as_the_stream_one()
    {
        var path = Path.Combine(Path.GetTempPath(), $"salient-png-{Guid.NewGuid():N}.png");
        try
        {
            using var image = RgbImage.Create(9, 4);
            TestImage(9, 4, 3, seed: 3).CopyTo(image.Pixels);

            PngEncoder.Write(path, image);

            Assert.Equal(Encode(image.Pixels.ToArray(), 9, 4, PngColorType.Rgb), File.ReadAllBytes(path));
            using var loaded = RgbImage.Load(path);
            Assert.Equal(image.Pixels.ToArray(), loaded.Pixels.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Chunk_crcs_are_the_standard_crc32()
    {
        Assert.Equal(0xCBF43926u, Internal.Crc32.Append(0, "123456789"u8));
        Assert.Equal(0xCBF43926u, Internal.Crc32.Append(Internal.Crc32.Append(0, "1234"u8), "56789"u8));

        var png = Encode([1, 2, 3], 1, 1, PngColorType.Rgb);

        Assert.Equal([0, 0, 0, 0, .. "IEND"u8, 0xAE, 0x42, 0x60, 0x82], png[^12..]);
    }

    [Fact]
    public void Wrong_sizes_are_rejected()
    {
        using var stream = new MemoryStream();

        Assert.Throws<ArgumentException>(() => PngEncoder.Write(stream, new byte[11], 2, 2, PngColorType.Rgb));
        Assert.Throws<ArgumentOutOfRangeException>(() => PngEncoder.Write(stream, [], 0, 1, PngColorType.Gray));
        Assert.Throws<ArgumentOutOfRangeException>(() => PngEncoder.Write(stream, new byte[4], 2, 2, (PngColorType)9));
        Assert.Equal(0, stream.Length);
    }

    private static int Channels(PngColorType type) => type switch
    {
        PngColorType.Gray => 1,
        PngColorType.Rgb => 3,
        _ => 4,
    };

    private static byte[] Encode(byte[] pixels, int width, int height, PngColorType type)
    {
        using var stream = new MemoryStream();
        PngEncoder.Write(stream, pixels, width, height, type);
        return stream.ToArray();
    }

    /// <summary>Smooth gradients with noise: rows that different filters suit, and 0 and 255 present.</summary>
    private static byte[] TestImage(int width, int height, int channels, int seed)
    {
        var random = new Random(seed);
        var pixels = new byte[width * height * channels];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                for (var c = 0; c < channels; c++)
                {
                    var i = (((y * width) + x) * channels) + c;
                    pixels[i] = (x + y) % 4 == 0 ? (byte)random.Next(256) : (byte)((x * (3 + c)) + (y * 5) + (c * 60));
                }
            }
        }

        return pixels;
    }
}

/// <summary>A minimal PNG reader written from the specification, independent of the encoder: checks every CRC and undoes the filters.</summary>
internal static class ReferencePng
{
    public sealed record Image(int Width, int Height, int Channels, byte[] Pixels, int[] Filters, int IdatChunks);

    public static Image Read(byte[] png)
    {
        Assert.Equal([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], png[..8]);
        int width = 0, height = 0, channels = 0, idat = 0;
        var compressed = new MemoryStream();
        var chunks = new List<string>();
        for (var offset = 8; offset < png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            var type = System.Text.Encoding.ASCII.GetString(png, offset + 4, 4);
            var body = png.AsSpan(offset + 8, length);
            Assert.Equal(BitwiseCrc(png.AsSpan(offset + 4, length + 4)), BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(offset + 8 + length)));
            chunks.Add(type);
            switch (type)
            {
                case "IHDR":
                    width = BinaryPrimitives.ReadInt32BigEndian(body);
                    height = BinaryPrimitives.ReadInt32BigEndian(body[4..]);
                    Assert.Equal(8, body[8]);
                    channels = body[9] switch { 0 => 1, 2 => 3, 6 => 4, _ => throw new InvalidDataException($"color type {body[9]}") };
                    Assert.Equal([0, 0, 0], body[10..13].ToArray());
                    break;
                case "IDAT":
                    compressed.Write(body);
                    idat++;
                    break;
            }

            offset += 12 + length;
        }

        Assert.Equal("IHDR", chunks[0]);
        Assert.Equal("IEND", chunks[^1]);
        compressed.Position = 0;
        using var zlib = new ZLibStream(compressed, CompressionMode.Decompress);
        var raw = new MemoryStream();
        zlib.CopyTo(raw);
        var data = raw.ToArray();
        var rowBytes = width * channels;
        Assert.Equal(height * (rowBytes + 1), data.Length);

        var pixels = new byte[height * rowBytes];
        var filters = new int[height];
        for (var y = 0; y < height; y++)
        {
            filters[y] = data[y * (rowBytes + 1)];
            for (var i = 0; i < rowBytes; i++)
            {
                int a = i >= channels ? pixels[(y * rowBytes) + i - channels] : 0;
                int b = y > 0 ? pixels[((y - 1) * rowBytes) + i] : 0;
                int c = i >= channels && y > 0 ? pixels[((y - 1) * rowBytes) + i - channels] : 0;
                var predicted = filters[y] switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2, 4 => Paeth(a, b, c), _ => throw new InvalidDataException($"filter {filters[y]}") };
                pixels[(y * rowBytes) + i] = (byte)(data[(y * (rowBytes + 1)) + 1 + i] + predicted);
            }
        }

        return new Image(width, height, channels, pixels, filters, idat);
    }

    private static int Paeth(int a, int b, int c)
    {
        var p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    private static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var value in data)
        {
            crc ^= value;
            for (var k = 0; k < 8; k++)
            {
                crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
            }
        }

        return ~crc;
    }
}
