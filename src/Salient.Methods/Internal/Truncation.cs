namespace Salient.Methods.Internal;

/// <summary>
/// The gradient truncation T of shallow-layer CAM denoising (docs/methods.md, "Denoising shallow-layer CAMs"): τ is the
/// q-quantile (linear interpolation, as numpy) of the positive gradients over all channels of one
/// image and target.
/// </summary>
public static class Truncation
{
    public static void Apply(DenoiseMode mode, float q, Span<float> gradient)
    {
        if (mode == DenoiseMode.Rectify)
        {
            System.Numerics.Tensors.TensorPrimitives.Max(gradient, 0f, gradient);
            return;
        }

        var tau = PositiveQuantile(gradient, q);
        if (tau is not { } threshold)
        {
            return;
        }

        for (var i = 0; i < gradient.Length; i++)
        {
            var g = gradient[i];
            if (g > 0f)
            {
                // floor (and backprop) drop the small positive gradients; ceil clips the large ones. Ties at τ are kept.
                gradient[i] = mode == DenoiseMode.Ceil ? Math.Min(g, threshold) : g < threshold ? 0f : g;
            }
        }
    }

    /// <summary>The q-quantile of the positive entries, or null when there are none.</summary>
    public static float? PositiveQuantile(ReadOnlySpan<float> values, float q)
    {
        var positives = new List<float>();
        foreach (var v in values)
        {
            if (v > 0f)
            {
                positives.Add(v);
            }
        }

        if (positives.Count == 0)
        {
            return null;
        }

        positives.Sort();
        var position = q * (positives.Count - 1);
        var lower = (int)Math.Floor(position);
        var upper = Math.Min(lower + 1, positives.Count - 1);
        return positives[lower] + ((positives[upper] - positives[lower]) * (position - lower));
    }
}
