namespace Salient.Methods.Metrics;

/// <summary>How class maps become a pseudo segmentation mask.</summary>
public enum PseudoMaskRule
{
    /// <summary>
    /// Each pixel takes the class whose map is highest there, or background where no map reaches
    /// the threshold (the background score of weakly supervised segmentation).
    /// </summary>
    Argmax,

    /// <summary>Each class on its own: its mask is its map ≥ the threshold (classes may overlap); background is where no class is.</summary>
    Threshold,
}

/// <summary>A class's pixel counts in one or many images: prediction ∩ truth and prediction ∪ truth.</summary>
/// <param name="Class">The class; <see cref="PseudoMaskIoU.Background"/> for background.</param>
/// <param name="Intersection">Pixels both predicted and true.</param>
/// <param name="Union">Pixels predicted or true.</param>
public readonly record struct ClassOverlap(int Class, long Intersection, long Union);

/// <summary>
/// Pseudo-mask IoU for weakly supervised segmentation: the maps of an image's classes become a
/// label mask, compared with the true one class by class. Intersections and unions are counted,
/// not averaged per image, so summing them over images (or shards) gives the exact dataset IoU per
/// class, and mIoU is their mean over the classes seen.
/// </summary>
public static class PseudoMaskIoU
{
    /// <summary>The class index used for background.</summary>
    public const int Background = -1;

    /// <summary>
    /// The overlaps of every class that has a map or appears in <paramref name="truth"/>, background
    /// included. <paramref name="truth"/> holds a class per pixel (<see cref="Background"/> for none);
    /// each map is the class's saliency map over the same pixels.
    /// </summary>
    public static IReadOnlyList<ClassOverlap> Overlaps(IReadOnlyDictionary<int, ReadOnlyMemory<float>> maps, ReadOnlySpan<int> truth, PseudoMaskRule rule, float threshold)
    {
        ArgumentNullException.ThrowIfNull(maps);
        foreach (var (c, map) in maps)
        {
            if (map.Length != truth.Length || c == Background)
            {
                throw new ArgumentException($"The map of class {c} has {map.Length} values for {truth.Length} pixels (and background has no map).", nameof(maps));
            }
        }

        var classes = maps.Keys.Concat(truth.ToArray()).Append(Background).Distinct().Order().ToArray();
        var slot = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i);
        var intersections = new long[classes.Length];
        var unions = new long[classes.Length];
        var ordered = maps.OrderBy(m => m.Key).ToArray();
        var predicted = new bool[classes.Length];
        for (var p = 0; p < truth.Length; p++)
        {
            Array.Clear(predicted);
            var best = Background;
            var bestValue = float.NegativeInfinity;
            foreach (var (c, map) in ordered)
            {
                var v = map.Span[p];
                if (v >= threshold)
                {
                    predicted[slot[c]] = rule == PseudoMaskRule.Threshold;
                    if (v > bestValue)
                    {
                        (best, bestValue) = (c, v);
                    }
                }
            }

            if (rule == PseudoMaskRule.Argmax || best == Background)
            {
                predicted[slot[best]] = true;
            }

            for (var k = 0; k < classes.Length; k++)
            {
                var isTrue = truth[p] == classes[k];
                intersections[k] += predicted[k] && isTrue ? 1 : 0;
                unions[k] += predicted[k] || isTrue ? 1 : 0;
            }
        }

        return [.. classes.Select((c, k) => new ClassOverlap(c, intersections[k], unions[k]))];
    }
}
