namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Bilinear resize without antialiasing, as PyTorch's interpolate: half-pixel centres clamped at
/// the edges (align_corners=False, OpenCV INTER_LINEAR), or corner-aligned (align_corners=True).
/// </summary>
internal static class ResizeBilinearKernel
{
    public static void Run(int planes, int inHeight, int inWidth, ReadOnlySpan<float> input, int outHeight, int outWidth, Span<float> output, bool alignCorners)
    {
        if (input.Length != planes * inHeight * inWidth || output.Length != planes * outHeight * outWidth)
        {
            throw new ArgumentException($"Resize of {planes} planes {inHeight}x{inWidth} -> {outHeight}x{outWidth} got {input.Length} inputs and room for {output.Length}.");
        }

        var (rows, rowWeights) = Taps(inHeight, outHeight, alignCorners);
        var (cols, colWeights) = Taps(inWidth, outWidth, alignCorners);
        for (var p = 0; p < planes; p++)
        {
            var src = input.Slice(p * inHeight * inWidth, inHeight * inWidth);
            var dst = output.Slice(p * outHeight * outWidth, outHeight * outWidth);
            for (var oh = 0; oh < outHeight; oh++)
            {
                var (r0, r1, wr) = (rows[2 * oh], rows[(2 * oh) + 1], rowWeights[oh]);
                for (var ow = 0; ow < outWidth; ow++)
                {
                    var (c0, c1, wc) = (cols[2 * ow], cols[(2 * ow) + 1], colWeights[ow]);
                    var top = src[(r0 * inWidth) + c0] + (wc * (src[(r0 * inWidth) + c1] - src[(r0 * inWidth) + c0]));
                    var bottom = src[(r1 * inWidth) + c0] + (wc * (src[(r1 * inWidth) + c1] - src[(r1 * inWidth) + c0]));
                    dst[(oh * outWidth) + ow] = top + (wr * (bottom - top));
                }
            }
        }
    }

    /// <summary>For each output index, its two source indices and the weight of the second.</summary>
    private static (int[] Indices, float[] Weights) Taps(int inSize, int outSize, bool alignCorners)
    {
        var indices = new int[2 * outSize];
        var weights = new float[outSize];
        var scale = alignCorners
            ? (outSize > 1 ? (float)(inSize - 1) / (outSize - 1) : 0f)
            : (float)inSize / outSize;
        for (var o = 0; o < outSize; o++)
        {
            var source = alignCorners ? o * scale : Math.Max(((o + 0.5f) * scale) - 0.5f, 0f);
            var i0 = Math.Min((int)source, inSize - 1);
            indices[2 * o] = i0;
            indices[(2 * o) + 1] = Math.Min(i0 + 1, inSize - 1);
            weights[o] = source - i0;
        }

        return (indices, weights);
    }
}
