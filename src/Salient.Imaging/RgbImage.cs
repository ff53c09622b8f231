using System.Buffers;
using System.Globalization;
using Salient.Imaging.Internal;

namespace Salient.Imaging;

/// <summary>
/// An 8-bit RGB image, rows top to bottom, pixels interleaved R,G,B with no row padding. The
/// image owns a buffer rented from the shared byte pool and returns it on <see cref="Dispose"/>;
/// using the image afterwards throws <see cref="ObjectDisposedException"/>.
/// </summary>
public sealed class RgbImage : IDisposable
{
    /// <summary>The default limit on decoded pixels (50 megapixels).</summary>
    public const long DefaultMaxPixels = 50_000_000;

    private byte[]? _buffer;

    private RgbImage(int width, int height)
    {
        Width = width;
        Height = height;
        _buffer = ArrayPool<byte>.Shared.Rent(checked(width * height * 3));
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>The pixels: <c>Height</c> rows of <c>Width * 3</c> bytes.</summary>
    public Span<byte> Pixels => (_buffer ?? throw new ObjectDisposedException(nameof(RgbImage))).AsSpan(0, Width * Height * 3);

    /// <summary>A new image with unspecified contents, for callers that fill every pixel.</summary>
    public static RgbImage Create(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if ((long)width * height * 3 > Array.MaxLength)
        {
            throw new ArgumentException($"A {width}x{height} RGB image does not fit in one buffer.", nameof(width));
        }

        return new RgbImage(width, height);
    }

    /// <summary>
    /// Reads and decodes the JPEG or PNG file at <paramref name="path"/> (the format is taken
    /// from the file's signature, not its extension) and converts it to RGB as Pillow's
    /// <c>Image.open(path).convert("RGB")</c> does.
    /// </summary>
    /// <param name="path">The file to read.</param>
    /// <param name="maxPixels">Images with more pixels are rejected from their header, before decoding.</param>
    /// <exception cref="ImageDecodeException">The file cannot be read or decoded; the message names it.</exception>
    public static RgbImage Load(string path, long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ImageDecodeException(path, e.Message, e);
        }

        return Decode(data, path, maxPixels);
    }

    /// <summary>
    /// Decodes an in-memory JPEG or PNG file, as <see cref="Load"/> does.
    /// </summary>
    /// <param name="data">The encoded file.</param>
    /// <param name="name">Names the input in error messages (a path, URL or id).</param>
    /// <param name="maxPixels">Images with more pixels are rejected from their header, before decoding.</param>
    /// <exception cref="ImageDecodeException">The data cannot be decoded; the message names <paramref name="name"/>.</exception>
    public static RgbImage Decode(ReadOnlySpan<byte> data, string name, long maxPixels = DefaultMaxPixels)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPixels);
        if (data.IsEmpty)
        {
            throw new ImageDecodeException(name, "the file is empty");
        }

        if (data.StartsWith(JpegDecoder.Signature))
        {
            return JpegDecoder.Decode(data, name, maxPixels);
        }

        if (data.StartsWith(PngDecoder.Signature))
        {
            return PngDecoder.Decode(data, name, maxPixels);
        }

        throw new ImageDecodeException(name, $"not a JPEG or PNG file (starts with {Convert.ToHexString(data[..Math.Min(8, data.Length)])})");
    }

    /// <summary>Rejects an image, from its header, whose pixel count exceeds <paramref name="maxPixels"/>.</summary>
    internal static void CheckSize(long width, long height, long maxPixels, string name)
    {
        if (width <= 0 || height <= 0)
        {
            throw new ImageDecodeException(name, $"the header gives an invalid size {width}x{height}");
        }

        if (width * height > maxPixels || width * height * 3 > Array.MaxLength)
        {
            throw new ImageDecodeException(name, string.Create(CultureInfo.InvariantCulture,
                $"{width}x{height} is {width * height / 1e6:0.#} megapixels, over the limit of {maxPixels / 1e6:0.#} megapixels (possible decompression bomb)"));
        }
    }

    /// <summary>Returns the buffer to the pool.</summary>
    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = null;
        if (buffer is not null)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
