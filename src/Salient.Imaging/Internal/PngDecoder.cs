using static Salient.Imaging.Internal.SpngNative;

namespace Salient.Imaging.Internal;

/// <summary>
/// PNG to RGB through libspng. SPNG_FMT_RGB8 with no decode flags gives what Pillow's
/// convert("RGB") gives for every colour type: gray replicated, alpha and tRNS dropped, palette
/// expanded, gamma and colour profiles ignored, 16-bit samples reduced to their high byte.
/// </summary>
internal static unsafe class PngDecoder
{
    internal static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    // Bounds on ancillary chunk memory so text or ICC chunks cannot exhaust memory.
    private const nuint ChunkSizeLimit = 64 << 20;
    private const nuint ChunkCacheLimit = 128 << 20;

    internal static RgbImage Decode(ReadOnlySpan<byte> data, string name, long maxPixels)
    {
        var ctx = spng_ctx_new(0);
        if (ctx == IntPtr.Zero)
        {
            throw new ImageDecodeException(name, "libspng could not create a decoding context");
        }

        try
        {
            fixed (byte* png = data)
            {
                // libspng keeps this pointer and reads through it in every call below, all inside the fixed block.
                Check(spng_set_png_buffer(ctx, png, (nuint)data.Length), name, "reading");
                var side = (uint)Math.Min(maxPixels, int.MaxValue);
                Check(spng_set_image_limits(ctx, side, side), name, "setting limits");
                Check(spng_set_chunk_limits(ctx, ChunkSizeLimit, ChunkCacheLimit), name, "setting limits");

                Ihdr ihdr;
                Check(spng_get_ihdr(ctx, &ihdr), name, "reading the PNG header");
                RgbImage.CheckSize(ihdr.Width, ihdr.Height, maxPixels, name);

                nuint length;
                Check(spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &length), name, "sizing the image");
                var image = RgbImage.Create((int)ihdr.Width, (int)ihdr.Height);
                try
                {
                    if (length != (nuint)image.Pixels.Length)
                    {
                        throw new ImageDecodeException(name, $"libspng reports {length} bytes for a {ihdr.Width}x{ihdr.Height} RGB image");
                    }

                    fixed (byte* rgb = image.Pixels)
                    {
                        Check(spng_decode_image(ctx, rgb, length, SPNG_FMT_RGB8, 0), name, "decoding");
                    }

                    return image;
                }
                catch
                {
                    image.Dispose();
                    throw;
                }
            }
        }
        finally
        {
            spng_ctx_free(ctx);
        }
    }

    private static void Check(int status, string name, string step)
    {
        if (status == SPNG_IO_EOF)
        {
            throw new ImageDecodeException(name, $"the PNG file is truncated ({step}: {ErrorText(status)})");
        }

        if (status != 0)
        {
            throw new ImageDecodeException(name, $"corrupt or unsupported PNG ({step}: {ErrorText(status)})");
        }
    }
}
