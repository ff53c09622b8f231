namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Cache-line alignment for the AVX-512 kernels' scratch: a 512-bit load or store at a 64-byte
/// boundary stays within one line, where a misaligned one touches two.
/// </summary>
internal static unsafe class CacheLine
{
    /// <summary>The first 64-byte boundary at or after <paramref name="p"/> (the buffer needs 15 floats of slack).</summary>
    public static float* Align(float* p) => (float*)(((nint)p + 63) & ~(nint)63);
}
