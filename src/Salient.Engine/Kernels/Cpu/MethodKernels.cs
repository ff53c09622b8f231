using System.Numerics;
using System.Numerics.Tensors;
using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// The CPU's method arithmetic (<see cref="IKernelBackend.ChannelWeights"/> and the rest): the
/// arithmetic, and its order, that the methods did on host spans before it was a backend operation,
/// so the CPU's maps, and the PyTorch parity they are checked against, are what they were.
/// </summary>
internal static class MethodKernels
{
    public static void ChannelWeights(ChannelWeighting weighting, int channels, int plane, ReadOnlySpan<float> activations,
        ReadOnlySpan<float> gradients, Span<float> weights)
    {
        CheckChannelPairs(weighting, channels, plane, activations.Length, gradients.Length);
        MapKernels.Check(channels, weights.Length, "weights");
        if (weighting == ChannelWeighting.GradientMean)
        {
            MapKernels.PlaneMeans(channels, plane, gradients, weights);
            return;
        }

        for (var c = 0; c < channels; c++)
        {
            var a = activations.Slice(c * plane, plane);
            var g = gradients.Slice(c * plane, plane);
            weights[c] = weighting == ChannelWeighting.PositiveGradientAlpha
                ? PositiveGradientAlpha(a, g)
                : TensorPrimitives.Dot(g, a) / (TensorPrimitives.Sum(a) + 1e-7f);
        }
    }

    // A known rule and channels planes of activations and of gradients.
    private static void CheckChannelPairs<TRule>(TRule rule, int channels, int plane, int activations, int gradients)
        where TRule : struct, Enum
    {
        if (!Enum.IsDefined(rule))
        {
            throw new ArgumentOutOfRangeException(nameof(rule), rule, $"Unknown {typeof(TRule).Name}.");
        }

        MapKernels.Check(channels * plane, activations, "activations");
        MapKernels.Check(channels * plane, gradients, "gradients");
    }

    // Summed element by element in plane order.
    private static float PositiveGradientAlpha(ReadOnlySpan<float> activation, ReadOnlySpan<float> gradient)
    {
        var sumA = TensorPrimitives.Sum(activation);
        var weight = 0f;
        foreach (var gi in gradient)
        {
            if (gi > 0f)
            {
                var g2 = gi * gi;
                weight += gi * (g2 / ((2 * g2) + (sumA * g2 * gi) + 1e-6f));
            }
        }

        return weight;
    }

    public static void ChannelProductSum(ChannelProduct product, int channels, int plane, ReadOnlySpan<float> activations,
        ReadOnlySpan<float> gradients, Span<float> output)
    {
        CheckChannelPairs(product, channels, plane, activations.Length, gradients.Length);
        MapKernels.Check(plane, output.Length, "output");
        output.Clear();
        var rented = HostArrayPool.Shared.Rent(plane);
        var scratch = rented.AsSpan(0, plane);
        try
        {
            for (var c = 0; c < channels; c++)
            {
                var a = activations.Slice(c * plane, plane);
                var g = gradients.Slice(c * plane, plane);
                switch (product)
                {
                    case ChannelProduct.Product:
                        TensorPrimitives.MultiplyAdd(g, a, output, output);
                        break;
                    case ChannelProduct.RectifiedGradient:
                        TensorPrimitives.Max(g, 0f, scratch);
                        TensorPrimitives.MultiplyAdd(scratch, a, output, output);
                        break;
                    default:
                        TensorPrimitives.Multiply(g, a, scratch);
                        TensorPrimitives.Max(scratch, 0f, scratch);
                        TensorPrimitives.Add(output, scratch, output);
                        break;
                }
            }
        }
        finally
        {
            HostArrayPool.Shared.Return(rented);
        }
    }

    public static void TruncatePositives(QuantileTruncation truncation, float quantile, int segments, Span<float> values)
    {
        CheckTruncation(truncation, quantile, segments, values.Length);
        var length = values.Length / segments;
        var rented = HostArrayPool.Shared.Rent(length);
        try
        {
            for (var s = 0; s < segments; s++)
            {
                var segment = values.Slice(s * length, length);
                if (PositiveQuantile(segment, quantile, rented) is not { } tau)
                {
                    continue;
                }

                for (var i = 0; i < segment.Length; i++)
                {
                    var g = segment[i];
                    if (g > 0f)
                    {
                        // Floor drops the small positive values; ceil clips the large ones. Ties at τ are kept.
                        segment[i] = truncation == QuantileTruncation.Ceil ? Math.Min(g, tau) : g < tau ? 0f : g;
                    }
                }
            }
        }
        finally
        {
            HostArrayPool.Shared.Return(rented);
        }
    }

    public static void AddScaled(ReadOnlySpan<float> pattern, ReadOnlySpan<float> scales, Span<float> target)
    {
        var n = pattern.Length;
        MapKernels.Check(n * scales.Length, target.Length, "target");
        for (var r = 0; r < scales.Length; r++)
        {
            var row = target.Slice(r * n, n);
            TensorPrimitives.MultiplyAdd(pattern, scales[r], row, row);
        }
    }

    public static void SignTimes(int images, int channels, int plane, ReadOnlySpan<float> x, ReadOnlySpan<float> map, Span<float> output)
    {
        MapKernels.Check(images * channels * plane, x.Length, "x");
        MapKernels.Check(images * plane, map.Length, "map");
        MapKernels.Check(x.Length, output.Length, "output");
        for (var i = 0; i < images; i++)
        {
            var u = map.Slice(i * plane, plane);
            for (var c = 0; c < channels; c++)
            {
                var offset = ((i * channels) + c) * plane;
                SignTimes(x.Slice(offset, plane), u, output.Slice(offset, plane));
            }
        }
    }

    // dst = sign(x) ⊙ u with sign(0) = 0.
    private static void SignTimes(ReadOnlySpan<float> x, ReadOnlySpan<float> u, Span<float> dst)
    {
        var i = 0;
        for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
        {
            var vx = new Vector<float>(x[i..]);
            var vu = new Vector<float>(u[i..]);
            var negative = Vector.ConditionalSelect(Vector.LessThan(vx, Vector<float>.Zero), -vu, Vector<float>.Zero);
            Vector.ConditionalSelect(Vector.GreaterThan(vx, Vector<float>.Zero), vu, negative).CopyTo(dst[i..]);
        }

        for (; i < x.Length; i++)
        {
            dst[i] = MathF.Sign(x[i]) * u[i];
        }
    }

    public static void SignSplitLinearBackward(int rows, int inputs, int outputs, bool weightsTransposed, float gamma, ReadOnlySpan<float> input,
        ReadOnlySpan<float> weights, ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
    {
        MapKernels.Check(rows * inputs, input.Length, "input");
        MapKernels.Check(inputs * outputs, weights.Length, "weights");
        MapKernels.Check(rows * outputs, outputGradient.Length, "output gradient");
        MapKernels.Check(rows * inputs, inputGradient.Length, "input gradient");
        inputGradient.Clear();
        for (var b = 0; b < rows; b++)
        {
            var x = input.Slice(b * inputs, inputs);
            var gx = inputGradient.Slice(b * inputs, inputs);
            for (var k = 0; k < outputs; k++)
            {
                var gk = outputGradient[(b * outputs) + k];
                if (gk == 0f)
                {
                    continue;
                }

                float positive = 0f, negative = 0f;
                for (var j = 0; j < inputs; j++)
                {
                    var wkj = Weight(weights, weightsTransposed, inputs, outputs, k, j);
                    if (wkj > 0f)
                    {
                        positive += wkj * x[j];
                    }
                    else
                    {
                        negative += wkj * x[j];
                    }
                }

                var beta = gamma * positive / Math.Abs(negative);
                for (var j = 0; j < inputs; j++)
                {
                    var wkj = Weight(weights, weightsTransposed, inputs, outputs, k, j);
                    gx[j] += gk * (wkj > 0f ? wkj : wkj * beta);
                }
            }
        }
    }

    private static float Weight(ReadOnlySpan<float> weights, bool transposed, int inputs, int outputs, int k, int j) =>
        transposed ? weights[(k * inputs) + j] : weights[(j * outputs) + k];

    public static void SpliceByRank(int channels, int plane, ReadOnlySpan<float> source, ReadOnlySpan<float> replacement, ReadOnlySpan<float> ranks,
        ReadOnlySpan<float> limits, Span<float> output)
    {
        var size = channels * plane;
        MapKernels.Check(size, source.Length, "source");
        MapKernels.Check(size, replacement.Length, "replacement");
        MapKernels.Check(plane, ranks.Length, "ranks");
        MapKernels.Check(size * limits.Length, output.Length, "output");
        for (var k = 0; k < limits.Length; k++)
        {
            var limit = limits[k];
            for (var c = 0; c < channels; c++)
            {
                var offset = c * plane;
                var copy = output.Slice((k * size) + offset, plane);
                for (var p = 0; p < plane; p++)
                {
                    copy[p] = ranks[p] < limit ? replacement[offset + p] : source[offset + p];
                }
            }
        }
    }

    /// <summary>The argument rule of <see cref="IKernelBackend.TruncatePositives"/>, which every backend applies.</summary>
    public static void CheckTruncation(QuantileTruncation truncation, float quantile, int segments, long length)
    {
        if (!Enum.IsDefined(truncation))
        {
            throw new ArgumentOutOfRangeException(nameof(truncation), truncation, "Unknown truncation.");
        }

        if (!(quantile >= 0f && quantile <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, "The quantile must be in [0, 1].");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(segments, 1);
        if (length % segments != 0)
        {
            throw new ArgumentException($"{length} values do not split into {segments} segments.", nameof(segments));
        }
    }

    // The q-quantile of the positive entries (linear interpolation, as numpy), or null when there are none.
    private static float? PositiveQuantile(ReadOnlySpan<float> values, float q, float[] scratch)
    {
        var count = 0;
        foreach (var v in values)
        {
            if (v > 0f)
            {
                scratch[count++] = v;
            }
        }

        if (count == 0)
        {
            return null;
        }

        var positives = scratch.AsSpan(0, count);
        positives.Sort();
        var position = q * (count - 1);
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(lower + 1, count - 1);
        return positives[lower] + ((positives[upper] - positives[lower]) * (position - lower));
    }
}
