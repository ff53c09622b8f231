using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// Bilinear resize without antialiasing, one thread per output value, with the CPU kernel's
/// arithmetic: half-pixel centres clamped at the edges, or corner-aligned sampling.
/// </summary>
public static class ResizeBilinearKernel
{
    public static void Run(Index1D thread, ArrayView<float> x, ArrayView<float> y, int inHeight, int inWidth, int outHeight, int outWidth, int alignCorners)
    {
        int i = thread;
        var outPlane = outHeight * outWidth;
        var plane = i / outPlane;
        var oh = (i % outPlane) / outWidth;
        var ow = i % outWidth;
        Tap(oh, inHeight, outHeight, alignCorners != 0, out var r0, out var r1, out var wr);
        Tap(ow, inWidth, outWidth, alignCorners != 0, out var c0, out var c1, out var wc);
        var src = (long)plane * inHeight * inWidth;
        var top = src + ((long)r0 * inWidth);
        var bottom = src + ((long)r1 * inWidth);
        var upper = x[top + c0] + (wc * (x[top + c1] - x[top + c0]));
        var lower = x[bottom + c0] + (wc * (x[bottom + c1] - x[bottom + c0]));
        y[i] = upper + (wr * (lower - upper));
    }

    private static void Tap(int o, int inSize, int outSize, bool alignCorners, out int i0, out int i1, out float weight)
    {
        var scale = alignCorners
            ? (outSize > 1 ? (float)(inSize - 1) / (outSize - 1) : 0f)
            : (float)inSize / outSize;
        var source = alignCorners ? o * scale : Math.Max(((o + 0.5f) * scale) - 0.5f, 0f);
        i0 = Math.Min((int)source, inSize - 1);
        i1 = Math.Min(i0 + 1, inSize - 1);
        weight = source - i0;
    }
}
