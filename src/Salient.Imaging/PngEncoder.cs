using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using Salient.Imaging.Internal;

namespace Salient.Imaging;

/// <summary>The sample layouts <see cref="PngEncoder"/> writes, 8 bits per sample.</summary>
public enum PngColorType
{
    /// <summary>One byte per pixel, gray level.</summary>
    Gray,

    /// <summary>Three bytes per pixel: R, G, B.</summary>
    Rgb,

    /// <summary>Four bytes per pixel: R, G, B and straight (not premultiplied) alpha.</summary>
    Rgba,
}

/// <summary>
/// Writes 8-bit non-interlaced PNG files: IHDR, the zlib-compressed scanlines split into IDAT
/// chunks, IEND. Each row gets the filter whose output has the smallest sum of absolute signed
/// bytes, libpng's heuristic.
/// </summary>
public static class PngEncoder
{
    // Pillow writes IDAT in blocks of this size too; readers accept any split.
    private const int IdatSize = 1 << 16;

    private static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Encodes <paramref name="image"/> as an RGB PNG to <paramref name="stream"/>.</summary>
    public static void Write(Stream stream, RgbImage image, CompressionLevel level = CompressionLevel.Fastest)
    {
        ArgumentNullException.ThrowIfNull(image);
        Write(stream, image.Pixels, image.Width, image.Height, PngColorType.Rgb, level);
    }

    /// <summary>Encodes <paramref name="image"/> as an RGB PNG file at <paramref name="path"/>, replacing any file there.</summary>
    public static void Write(string path, RgbImage image, CompressionLevel level = CompressionLevel.Fastest)
    {
        ArgumentNullException.ThrowIfNull(image);
        Write(path, image.Pixels, image.Width, image.Height, PngColorType.Rgb, level);
    }

    /// <summary>Encodes a PNG file at <paramref name="path"/>, replacing any file there; see <see cref="Write(Stream, ReadOnlySpan{byte}, int, int, PngColorType, CompressionLevel)"/>.</summary>
    public static void Write(string path, ReadOnlySpan<byte> pixels, int width, int height, PngColorType colorType, CompressionLevel level = CompressionLevel.Fastest)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None);
        Write(file, pixels, width, height, colorType, level);
    }

    /// <summary>
    /// Encodes <paramref name="pixels"/>, <paramref name="height"/> rows top to bottom of
    /// <paramref name="width"/> interleaved pixels with no row padding, as a PNG to
    /// <paramref name="stream"/>, which is left open.
    /// </summary>
    /// <param name="stream">A writable stream; it need not be seekable.</param>
    /// <param name="pixels">Exactly width × height × (1, 3 or 4) bytes.</param>
    /// <param name="width">Width in pixels.</param>
    /// <param name="height">Height in pixels.</param>
    /// <param name="colorType">The layout of a pixel.</param>
    /// <param name="level">The zlib effort; the default favours speed.</param>
    public static void Write(Stream stream, ReadOnlySpan<byte> pixels, int width, int height, PngColorType colorType, CompressionLevel level = CompressionLevel.Fastest)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        var (channels, pngType) = colorType switch
        {
            PngColorType.Gray => (1, (byte)0),
            PngColorType.Rgb => (3, (byte)2),
            PngColorType.Rgba => (4, (byte)6),
            _ => throw new ArgumentOutOfRangeException(nameof(colorType), colorType, "Not a PNG color type."),
        };
        if ((long)width * height * channels != pixels.Length)
        {
            throw new ArgumentException($"A {width}x{height} {colorType} image has {(long)width * height * channels} bytes; {pixels.Length} were given.", nameof(pixels));
        }

        using var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, level, leaveOpen: true))
        using (var buffered = new BufferedStream(zlib, IdatSize))
        {
            // Row-sized writes into ZLibStream cost several times what large ones do.
            WriteScanlines(buffered, pixels, height, width * channels, channels);
        }

        stream.Write(Signature);
        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8;
        header[9] = pngType;
        header[10] = header[11] = header[12] = 0; // deflate, adaptive filtering, no interlace
        WriteChunk(stream, "IHDR"u8, header);

        var data = compressed.GetBuffer().AsSpan(0, (int)compressed.Length);
        for (var offset = 0; offset < data.Length; offset += IdatSize)
        {
            WriteChunk(stream, "IDAT"u8, data.Slice(offset, Math.Min(IdatSize, data.Length - offset)));
        }

        WriteChunk(stream, "IEND"u8, []);
    }

    private static void WriteChunk(Stream stream, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> field = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(field, data.Length);
        stream.Write(field);
        stream.Write(type);
        stream.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(field, Crc32.Append(Crc32.Append(0, type), data));
        stream.Write(field);
    }

    /// <summary>Filters each row with all five PNG filters and writes the cheapest, preceded by its type byte.</summary>
    private static void WriteScanlines(Stream output, ReadOnlySpan<byte> pixels, int height, int rowBytes, int bpp)
    {
        var line = rowBytes + 1;
        var buffer = ArrayPool<byte>.Shared.Rent((5 * line) + rowBytes);
        try
        {
            var zeros = buffer.AsSpan(5 * line, rowBytes);
            zeros.Clear();
            for (var y = 0; y < height; y++)
            {
                var row = pixels.Slice(y * rowBytes, rowBytes);
                var prior = y == 0 ? zeros : pixels.Slice((y - 1) * rowBytes, rowBytes);
                var best = 0;
                var bestScore = long.MaxValue;
                for (var filter = 0; filter < 5; filter++)
                {
                    var candidate = buffer.AsSpan(filter * line, line);
                    candidate[0] = (byte)filter;
                    var score = Filter(filter, row, prior, bpp, candidate[1..]);
                    if (score < bestScore)
                    {
                        (best, bestScore) = (filter, score);
                    }
                }

                output.Write(buffer, best * line, line);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Applies PNG filter <paramref name="type"/> (0 None, 1 Sub, 2 Up, 3 Average, 4 Paeth) to
    /// <paramref name="row"/> and returns the sum of the outputs read as signed bytes, in magnitude.
    /// </summary>
    private static long Filter(int type, ReadOnlySpan<byte> row, ReadOnlySpan<byte> prior, int bpp, Span<byte> output)
    {
        // One loop per filter: the first bpp bytes have no left neighbour (a = c = 0).
        switch (type)
        {
            case 0:
                row.CopyTo(output);
                break;
            case 1:
                row[..bpp].CopyTo(output);
                for (var i = bpp; i < row.Length; i++)
                {
                    output[i] = (byte)(row[i] - row[i - bpp]);
                }

                break;
            case 2:
                for (var i = 0; i < row.Length; i++)
                {
                    output[i] = (byte)(row[i] - prior[i]);
                }

                break;
            case 3:
                for (var i = 0; i < row.Length; i++)
                {
                    output[i] = (byte)(row[i] - (((i >= bpp ? row[i - bpp] : 0) + prior[i]) >> 1));
                }

                break;
            default:
                for (var i = 0; i < bpp; i++)
                {
                    output[i] = (byte)(row[i] - prior[i]);
                }

                for (var i = bpp; i < row.Length; i++)
                {
                    output[i] = (byte)(row[i] - Paeth(row[i - bpp], prior[i], prior[i - bpp]));
                }

                break;
        }

        long score = 0;
        foreach (var v in output)
        {
            score += v < 128 ? v : 256 - v;
        }

        return score;
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
