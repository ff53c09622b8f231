using System.Runtime.InteropServices;

namespace Salient.Imaging.Internal;

/// <summary>The TurboJPEG 2.1 decompression API (turbojpeg.h) as shipped in libturbojpeg.so.0.</summary>
internal static unsafe partial class TurboJpegNative
{
    internal const int TJPF_RGB = 0;
    internal const int TJPF_CMYK = 11;

    internal const int TJCS_CMYK = 3;
    internal const int TJCS_YCCK = 4;

    internal const int TJERR_WARNING = 0;

    static TurboJpegNative() => NativeLibraries.Register();

    [LibraryImport(NativeLibraries.TurboJpeg)]
    internal static partial IntPtr tjInitDecompress();

    // jpegSize is C 'unsigned long': 64-bit on LP64 Linux, 32-bit on Windows, hence CULong.
    [LibraryImport(NativeLibraries.TurboJpeg)]
    internal static partial int tjDecompressHeader3(IntPtr handle, byte* jpegBuf, CULong jpegSize, int* width, int* height, int* jpegSubsamp, int* jpegColorspace);

    [LibraryImport(NativeLibraries.TurboJpeg)]
    internal static partial int tjDecompress2(IntPtr handle, byte* jpegBuf, CULong jpegSize, byte* dstBuf, int width, int pitch, int height, int pixelFormat, int flags);

    [LibraryImport(NativeLibraries.TurboJpeg)]
    internal static partial byte* tjGetErrorStr2(IntPtr handle);

    [LibraryImport(NativeLibraries.TurboJpeg)]
    internal static partial int tjGetErrorCode(IntPtr handle);

    [LibraryImport(NativeLibraries.TurboJpeg)]
    internal static partial int tjDestroy(IntPtr handle);

    internal static string ErrorText(IntPtr handle) => Marshal.PtrToStringUTF8((IntPtr)tjGetErrorStr2(handle)) ?? "unknown TurboJPEG error";
}
