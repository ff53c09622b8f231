using System.Runtime.InteropServices;
using System.Buffers;
using static Salient.Imaging.Internal.TurboJpegNative;

namespace Salient.Imaging.Internal;

/// <summary>JPEG to RGB through TurboJPEG, matching Pillow's libjpeg settings (islow DCT, fancy upsampling).</summary>
public static unsafe class JpegDecoder
{
    internal static ReadOnlySpan<byte> Signature => [0xFF, 0xD8, 0xFF];

    internal static RgbImage Decode(ReadOnlySpan<byte> data, string name, long maxPixels)
    {
        var handle = tjInitDecompress();
        if (handle == IntPtr.Zero)
        {
            throw new ImageDecodeException(name, $"TurboJPEG could not start: {ErrorText(IntPtr.Zero)}");
        }

        try
        {
            fixed (byte* jpeg = data)
            {
                var size = new CULong((nuint)data.Length);
                int width, height, subsampling, colorspace;
                if (tjDecompressHeader3(handle, jpeg, size, &width, &height, &subsampling, &colorspace) != 0)
                {
                    throw new ImageDecodeException(name, $"bad JPEG header: {ErrorText(handle)}");
                }

                RgbImage.CheckSize(width, height, maxPixels, name);
                var image = RgbImage.Create(width, height);
                try
                {
                    if (colorspace is TJCS_CMYK or TJCS_YCCK)
                    {
                        DecodeCmyk(handle, jpeg, size, image, name, data);
                    }
                    else
                    {
                        // Grayscale JPEGs come out replicated to RGB, as Pillow's L -> RGB does.
                        fixed (byte* rgb = image.Pixels)
                        {
                            Check(tjDecompress2(handle, jpeg, size, rgb, width, width * 3, height, TJPF_RGB, 0), handle, name, data);
                        }
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
            _ = tjDestroy(handle);
        }
    }

    private static void DecodeCmyk(IntPtr handle, byte* jpeg, CULong size, RgbImage image, string name, ReadOnlySpan<byte> data)
    {
        var length = image.Width * image.Height * 4;
        var cmyk = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            fixed (byte* dst = cmyk)
            {
                Check(tjDecompress2(handle, jpeg, size, dst, image.Width, image.Width * 4, image.Height, TJPF_CMYK, 0), handle, name, data);
            }

            CmykToRgb(cmyk.AsSpan(0, length), image.Pixels);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(cmyk);
        }
    }

    /// <summary>
    /// Pillow reads every CMYK JPEG as Adobe-inverted ("CMYK;I", whatever the Adobe marker says),
    /// so ink = 255 - stored, then converts with cmyk2rgb: out = nk - nk * ink / 255 (rounded as
    /// MULDIV255) with nk = 255 - K_ink, which equals the stored K.
    /// </summary>
    public static void CmykToRgb(ReadOnlySpan<byte> stored, Span<byte> rgb)
    {
        for (int i = 0, o = 0; i < stored.Length; i += 4, o += 3)
        {
            int nk = stored[i + 3];
            rgb[o] = (byte)(nk - MulDiv255(255 - stored[i], nk));
            rgb[o + 1] = (byte)(nk - MulDiv255(255 - stored[i + 1], nk));
            rgb[o + 2] = (byte)(nk - MulDiv255(255 - stored[i + 2], nk));
        }
    }

    private static int MulDiv255(int a, int b)
    {
        var t = (a * b) + 128;
        return ((t >> 8) + t) >> 8;
    }

    private static void Check(int status, IntPtr handle, string name, ReadOnlySpan<byte> data)
    {
        if (status == 0)
        {
            return;
        }

        var message = ErrorText(handle);
        if (tjGetErrorCode(handle) != TJERR_WARNING)
        {
            throw new ImageDecodeException(name, $"corrupt JPEG data: {message}");
        }

        // libjpeg recovers from corrupt-data warnings and Pillow accepts the result, but a file
        // cut short makes it pad the image with grey; Pillow refuses those, and so do we.
        if (IsTruncated(data))
        {
            throw new ImageDecodeException(name, $"the JPEG file is truncated ({message})");
        }
    }

    /// <summary>
    /// True when no end-of-image marker follows the last start-of-scan marker. Entropy-coded data
    /// byte-stuffs 0xFF, so these two markers cannot appear inside scan data; an EOI inside an
    /// embedded thumbnail lies before the main image's scans.
    /// </summary>
    internal static bool IsTruncated(ReadOnlySpan<byte> data)
    {
        var sos = data.LastIndexOf([(byte)0xFF, (byte)0xDA]);
        return sos < 0 || data[sos..].IndexOf([(byte)0xFF, (byte)0xD9]) < 0;
    }
}
