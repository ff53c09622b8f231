namespace Salient.Methods.Metrics;

/// <summary>
/// Target selectivity on scenes with several objects: a map explaining one object's class should
/// put its mass on that object, not on the others. Score = m_target / (m_target + m_others), where
/// m is the positive map mass on a mask: 1 when the map sees only the target, 0 when only the others,
/// 0.5 when it does not tell them apart (or touches neither).
/// </summary>
public static class TargetSelectivity
{
    /// <summary>The selectivity of <paramref name="map"/> for the object under <paramref name="target"/> against the objects under <paramref name="others"/>.</summary>
    public static double Score(ReadOnlySpan<float> map, ReadOnlySpan<bool> target, ReadOnlySpan<bool> others)
    {
        PointingGame.CheckSizes(map.Length, 1, target.Length);
        PointingGame.CheckSizes(map.Length, 1, others.Length);
        double onTarget = 0, onOthers = 0;
        for (var i = 0; i < map.Length; i++)
        {
            var v = Math.Max(map[i], 0f);
            onTarget += target[i] ? v : 0;
            onOthers += others[i] ? v : 0;
        }

        return onTarget + onOthers > 0 ? onTarget / (onTarget + onOthers) : 0.5;
    }
}
