using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Methods.Internal;

namespace Salient.Methods.Metrics;

/// <summary>What deleted pixels become, and what insertion starts from.</summary>
public enum PerturbationBaseline
{
    /// <summary>Zero in the model's input space (the normalised tensor), i.e. the dataset mean colour.</summary>
    Zero,

    /// <summary>Each channel's mean over the image.</summary>
    Mean,

    /// <summary>The image under a Gaussian blur (Petsiuk et al.'s insertion baseline).</summary>
    Blur,
}

/// <summary>
/// Deletion and insertion (Petsiuk et al. 2018, RISE; Xplique's definition): pixels are taken
/// from the most to the least salient, all channels together, in <c>steps</c> equal portions.
/// Deletion replaces them in the image by the baseline, insertion writes them from the image into
/// the baseline. The curve is the target's probability (softmax, or sigmoid for multi-label models) after each step (steps + 1 points,
/// over the fraction of pixels 0, 1/steps, …, 1); the AUC is its trapezoid area. A faithful map
/// gives a low deletion AUC and a high insertion AUC. The perturbed copies are made on the model's device.
/// </summary>
public static class DeletionInsertion
{
    /// <summary>The fractions of pixels perturbed at each point of a curve with <paramref name="steps"/> steps.</summary>
    public static double[] Fractions(int steps) => [.. Enumerable.Range(0, steps + 1).Select(k => (double)k / steps)];

    /// <summary>
    /// The deletion (or, with <paramref name="insertion"/>, insertion) curve of every explanation of
    /// <paramref name="batch"/> [N,C,H,W], in order; each perturbed image is one row of a forward batch
    /// of <paramref name="innerBatch"/>. <paramref name="scores"/> reads the probability (default softmax).
    /// </summary>
    public static IReadOnlyList<double[]> Curves(Model model, Tensor batch, IReadOnlyList<Explanation> explanations, bool insertion,
        PerturbationBaseline baseline = PerturbationBaseline.Zero, int steps = 16, int innerBatch = 32, float blurSigma = 5f, ClassScores? scores = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(explanations);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(steps);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(innerBatch);
        var shape = batch.Shape[1..].ToArray();
        var size = shape[0] * shape[1] * shape[2];
        var plane = shape[1] * shape[2];
        var points = steps + 1;
        var backend = model.Backend;
        // On the model's device once: each image and its baseline, and each map's ranks (the position of every pixel in
        // the map's order); each chunk of perturbed copies is then spliced there from them.
        var onDevice = new List<Tensor>();
        try
        {
            Tensor Upload(Memory<float> values, params int[] dims)
            {
                var host = Tensor.Wrap(values, dims);
                var moved = host.To(backend);
                onDevice.Add(moved);
                return moved;
            }

            var images = new Dictionary<int, (Tensor Image, Tensor Baseline)>();
            foreach (var image in explanations.Select(e => e.Image).Distinct())
            {
                var values = batch.Memory.Slice(image * size, size);
                images[image] = (Upload(values, shape), Upload(Baseline(values.Span, shape, baseline, blurSigma), shape));
            }

            var ranks = explanations.Select(e =>
            {
                var rank = new float[plane];
                var order = MapMath.DescendingOrder(e.Map.Span);
                for (var r = 0; r < order.Length; r++)
                {
                    rank[order[r]] = r;
                }

                return Upload(rank, plane);
            }).ToArray();
            // Point k of a curve has the first ⌊k·plane/steps⌋ pixels of the order changed.
            var limits = BufferView.Host(Enumerable.Range(0, points).Select(k => (float)((long)k * plane / steps)).ToArray());

            var probabilities = PerturbedForward.Probabilities(model, explanations.Count * points, innerBatch, (first, n) =>
            {
                var chunk = Tensor.Uninitialized(backend, [n, .. shape]);
                // One splice per explanation's run of points in the chunk.
                for (var i = first; i < first + n;)
                {
                    var (e, k) = (i / points, i % points);
                    var count = Math.Min(points - k, first + n - i);
                    var (image, fallback) = images[explanations[e].Image];
                    var (source, replacement) = insertion ? (fallback, image) : (image, fallback);
                    backend.SpliceByRank(shape[0], plane, source.Data, replacement.Data, ranks[e].Data, limits.Slice(k, count),
                        chunk.Data.Slice((i - first) * size, count * size));
                    i += count;
                }

                return chunk;
            }, i => explanations[i / points].Class, scores ?? ClassScores.Softmax);
            return [.. Enumerable.Range(0, explanations.Count).Select(e => probabilities.AsSpan(e * points, points).ToArray())];
        }
        finally
        {
            foreach (var tensor in onDevice.Where(t => !t.Device.IsCpu))
            {
                tensor.Dispose();
            }
        }
    }

    /// <summary>The trapezoid area under a curve sampled at equal steps over [0, 1]: mean((s_i + s_{i+1}) / 2).</summary>
    public static double Auc(ReadOnlySpan<double> curve)
    {
        if (curve.Length < 2)
        {
            throw new ArgumentException("An AUC needs at least two points.", nameof(curve));
        }

        var sum = 0.0;
        for (var i = 0; i + 1 < curve.Length; i++)
        {
            sum += (curve[i] + curve[i + 1]) / 2;
        }

        return sum / (curve.Length - 1);
    }

    /// <summary>The baseline image [C,H,W] for one input.</summary>
    private static float[] Baseline(ReadOnlySpan<float> image, int[] shape, PerturbationBaseline baseline, float sigma)
    {
        var result = new float[image.Length];
        var plane = shape[1] * shape[2];
        for (var c = 0; c < shape[0]; c++)
        {
            var source = image.Slice(c * plane, plane);
            var target = result.AsSpan(c * plane, plane);
            switch (baseline)
            {
                case PerturbationBaseline.Mean:
                    target.Fill(System.Numerics.Tensors.TensorPrimitives.Sum(source) / plane);
                    break;
                case PerturbationBaseline.Blur:
                    GaussianBlur(source, target, shape[1], shape[2], sigma);
                    break;
                default:
                    break;
            }
        }

        return result;
    }

    /// <summary>A separable Gaussian blur with edge replication, radius ⌈3σ⌉.</summary>
    private static void GaussianBlur(ReadOnlySpan<float> source, Span<float> target, int height, int width, float sigma)
    {
        var radius = Math.Max(1, (int)Math.Ceiling(3 * sigma));
        var kernel = new double[(2 * radius) + 1];
        for (var k = -radius; k <= radius; k++)
        {
            kernel[k + radius] = Math.Exp(-(k * k) / (2.0 * sigma * sigma));
        }

        var total = kernel.Sum();
        var rows = new float[source.Length];
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var sum = 0.0;
                for (var k = -radius; k <= radius; k++)
                {
                    sum += kernel[k + radius] * source[(y * width) + Math.Clamp(x + k, 0, width - 1)];
                }

                rows[(y * width) + x] = (float)(sum / total);
            }
        }

        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var sum = 0.0;
                for (var k = -radius; k <= radius; k++)
                {
                    sum += kernel[k + radius] * rows[(Math.Clamp(y + k, 0, height - 1) * width) + x];
                }

                target[(y * width) + x] = (float)(sum / total);
            }
        }
    }
}
