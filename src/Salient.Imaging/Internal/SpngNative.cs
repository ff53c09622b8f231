using System.Runtime.InteropServices;

namespace Salient.Imaging.Internal;

/// <summary>The libspng 0.7 decoding API (spng.h) as shipped in libspng.so.0.</summary>
internal static unsafe partial class SpngNative
{
    internal const int SPNG_IO_EOF = -1;
    internal const int SPNG_FMT_RGB8 = 4;

    static SpngNative() => NativeLibraries.Register();

    /// <summary>struct spng_ihdr: two uint32 then five uint8 fields.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Ihdr
    {
        public uint Width;
        public uint Height;
        public byte BitDepth;
        public byte ColorType;
        public byte CompressionMethod;
        public byte FilterMethod;
        public byte InterlaceMethod;
    }

    [LibraryImport(NativeLibraries.Spng)]
    internal static partial IntPtr spng_ctx_new(int flags);

    [LibraryImport(NativeLibraries.Spng)]
    internal static partial void spng_ctx_free(IntPtr ctx);

    [LibraryImport(NativeLibraries.Spng)]
    internal static partial int spng_set_png_buffer(IntPtr ctx, void* buf, nuint size);

    [LibraryImport(NativeLibraries.Spng)]
    internal static partial int spng_set_image_limits(IntPtr ctx, uint width, uint height);

    [LibraryImport(NativeLibraries.Spng)]
    internal static partial int spng_set_chunk_limits(IntPtr ctx, nuint chunkSize, nuint cacheSize);

    [LibraryImport(NativeLibraries.Spng)]
    internal static partial int spng_get_ihdr(IntPtr ctx, Ihdr* ihdr);

    [LibraryImport(NativeLibraries.Spng)]
    internal static partial int spng_decoded_image_size(IntPtr ctx, int fmt, nuint* len);

    [LibraryImport(NativeLibraries.Spng)]
    internal static partial int spng_decode_image(IntPtr ctx, void* output, nuint len, int fmt, int flags);

    [LibraryImport(NativeLibraries.Spng)]
    internal static partial byte* spng_strerror(int err);

    internal static string ErrorText(int err) => Marshal.PtrToStringUTF8((IntPtr)spng_strerror(err)) ?? $"libspng error {err}";
}
