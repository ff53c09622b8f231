namespace Salient.Methods.Metrics;

/// <summary>
/// The energy-based pointing game (Wang et al. 2020, Score-CAM): the share of the map's positive
/// mass that lies inside the target's mask, Σ_mask relu(map) / Σ relu(map), in [0, 1]; 0 for a map
/// with no positive value.
/// </summary>
public static class EnergyPointingGame
{
    /// <summary>The share of positive saliency inside <paramref name="mask"/>.</summary>
    public static double Score(ReadOnlySpan<float> map, ReadOnlySpan<bool> mask)
    {
        PointingGame.CheckSizes(map.Length, 1, mask.Length);
        double inside = 0, total = 0;
        for (var i = 0; i < map.Length; i++)
        {
            var v = Math.Max(map[i], 0f);
            total += v;
            if (mask[i])
            {
                inside += v;
            }
        }

        return total > 0 ? inside / total : 0;
    }
}
