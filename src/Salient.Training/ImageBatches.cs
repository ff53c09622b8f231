using Salient.Engine;
using Salient.Imaging.Datasets;

namespace Salient.Training;

/// <summary>Fills normalized input batches from a labelled set, in parallel (each image is independent, so the result is deterministic).</summary>
public static class ImageBatches
{
    /// <summary>
    /// Writes images <paramref name="indices"/> into <paramref name="batch"/> [n, C, H, W] as
    /// (x − mean)/std per channel, mirroring those whose <paramref name="flip"/> entry is set, and
    /// returns their labels.
    /// </summary>
    public static IReadOnlyList<int>[] Fill(LabeledImageSet set, ReadOnlySpan<int> indices, Tensor batch, float[] mean, float[] std, bool[]? flip = null)
    {
        var (channels, height, width) = (set.Channels, set.Height, set.Width);
        var slot = channels * height * width;
        var labels = new IReadOnlyList<int>[indices.Length];
        var items = indices.ToArray();
        var memory = batch.Memory;
        Parallel.For(0, items.Length, i =>
        {
            var pixels = memory.Span.Slice(i * slot, slot);
            labels[i] = set.Read(items[i], pixels);
            for (var c = 0; c < channels; c++)
            {
                var plane = pixels.Slice(c * height * width, height * width);
                System.Numerics.Tensors.TensorPrimitives.Subtract(plane, mean[c], plane);
                System.Numerics.Tensors.TensorPrimitives.Divide(plane, std[c], plane);
                if (flip is not null && flip[i])
                {
                    for (var y = 0; y < height; y++)
                    {
                        plane.Slice(y * width, width).Reverse();
                    }
                }
            }
        });
        return labels;
    }

    /// <summary>Per-channel mean and standard deviation of up to <paramref name="sample"/> images spread over the set.</summary>
    public static (float[] Mean, float[] Std) Statistics(LabeledImageSet set, int sample = 1024)
    {
        var channels = set.Channels;
        var plane = set.Height * set.Width;
        var count = Math.Min(sample, set.Count);
        var sums = new double[channels];
        var squares = new double[channels];
        var pixels = new float[channels * plane];
        for (var i = 0; i < count; i++)
        {
            set.Read((int)((long)i * set.Count / count), pixels);
            for (var c = 0; c < channels; c++)
            {
                var values = pixels.AsSpan(c * plane, plane);
                sums[c] += System.Numerics.Tensors.TensorPrimitives.Sum<float>(values);
                squares[c] += System.Numerics.Tensors.TensorPrimitives.SumOfSquares<float>(values);
            }
        }

        var n = (double)count * plane;
        var mean = sums.Select(s => (float)(s / n)).ToArray();
        var std = squares.Select((s, c) => (float)Math.Sqrt(Math.Max((s / n) - (mean[c] * (double)mean[c]), 1e-6))).ToArray();
        return (mean, std);
    }
}
