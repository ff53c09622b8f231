namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Bilinear resize without antialiasing, as PyTorch's interpolate: half-pixel centres clamped at
/// the edges (align_corners=False, OpenCV INTER_LINEAR), or corner-aligned (align_corners=True).
/// </summary>
internal static unsafe class ResizeBilinearKernel
{
    public static void Run(int planes, int inHeight, int inWidth, ReadOnlySpan<float> input, int outHeight, int outWidth, Span<float> output, bool alignCorners)
    {
        if (planes < 0 || inHeight <= 0 || inWidth <= 0 || outHeight <= 0 || outWidth <= 0
            || input.Length != (long)planes * inHeight * inWidth || output.Length != (long)planes * outHeight * outWidth)
        {
            throw new ArgumentException($"Resize of {planes} planes {inHeight}x{inWidth} -> {outHeight}x{outWidth} got {input.Length} inputs and room for {output.Length}.");
        }

        var (rows, rowWeights) = Taps(inHeight, outHeight, alignCorners);
        var (cols, colWeights) = Taps(inWidth, outWidth, alignCorners);
        fixed (float* pIn = input, pOut = output)
        {
            var src = pIn;
            var dst = pOut;

            // Output rows of all planes in parallel: a map upsampled for display is one plane.
            CpuParallel.For(planes * outHeight, (long)outWidth * 8, i =>
            {
                var (p, oh) = Math.DivRem(i, outHeight);
                var plane = src + ((long)p * inHeight * inWidth);
                var top = plane + ((long)rows[2 * oh] * inWidth);
                var bottom = plane + ((long)rows[(2 * oh) + 1] * inWidth);
                var wr = rowWeights[oh];
                var outRow = dst + ((long)i * outWidth);
                for (var ow = 0; ow < outWidth; ow++)
                {
                    var (c0, c1, wc) = (cols[2 * ow], cols[(2 * ow) + 1], colWeights[ow]);
                    var upper = top[c0] + (wc * (top[c1] - top[c0]));
                    var lower = bottom[c0] + (wc * (bottom[c1] - bottom[c0]));
                    outRow[ow] = upper + (wr * (lower - upper));
                }
            });
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
