using Salient.Methods.Metrics;

namespace Salient.Methods.Tests.Metrics;

/// <summary>The metrics that compare a map with object masks, on hand-made 20×20 maps whose scores are known.</summary>
public sealed class MaskMetricTests
{
    private const int Side = 20;

    /// <summary>A 4×4 object at (2..5, 3..6).</summary>
    private static readonly bool[] Square = Rectangle(2, 3, 5, 6);

    [Fact]
    public void A_map_equal_to_the_mask_hits_holds_all_the_energy_and_has_iou_1()
    {
        var map = Square.Select(b => b ? 1f : 0f).ToArray();

        Assert.True(PointingGame.Hit(map, Side, Square));
        Assert.Equal(1.0, EnergyPointingGame.Score(map, Square));
        var overlaps = PseudoMaskIoU.Overlaps(new Dictionary<int, ReadOnlyMemory<float>> { [4] = map }, Truth((Square, 4)), PseudoMaskRule.Argmax, 0.5f);
        Assert.Equal([new ClassOverlap(PseudoMaskIoU.Background, 384, 384), new ClassOverlap(4, 16, 16)], overlaps);
    }

    [Fact]
    public void The_pointing_game_tolerance_is_a_strict_euclidean_distance_from_the_first_maximum()
    {
        var map = new float[Side * Side];
        map[(19 * Side) + 19] = 1;
        map[(0 * Side) + 19] = 1; // an equal maximum earlier in row-major order wins
        var mask = Rectangle(0, 0, 4, 0);

        Assert.False(PointingGame.Hit(map, Side, mask, tolerance: 15));
        Assert.True(PointingGame.Hit(map, Side, mask, tolerance: 15.01));
        Assert.False(PointingGame.Hit(map, Side, Rectangle(19, 19, 19, 19), tolerance: 15));
        Assert.True(PointingGame.Hit(map, Side, Rectangle(19, 5, 19, 5), tolerance: 5.5));
    }

    [Fact]
    public void Energy_is_the_share_of_positive_mass_inside_the_mask()
    {
        var map = new float[Side * Side];
        map[(3 * Side) + 2] = 0.25f;   // inside
        map[(10 * Side) + 10] = 0.75f; // outside
        map[(4 * Side) + 3] = -5f;     // negative values carry no energy

        Assert.Equal(0.25, EnergyPointingGame.Score(map, Square), 12);
        Assert.Equal(0.0, EnergyPointingGame.Score(new float[Side * Side], Square));
    }

    [Fact]
    public void Selectivity_compares_the_mass_on_the_target_with_the_mass_on_the_others()
    {
        var other = Rectangle(12, 12, 15, 15);
        var onTarget = Square.Select(b => b ? 1f : 0f).ToArray();
        var onOther = other.Select(b => b ? 1f : 0f).ToArray();
        var onBoth = onTarget.Zip(onOther, (a, b) => a + (3 * b)).ToArray();

        Assert.Equal(1.0, TargetSelectivity.Score(onTarget, Square, other));
        Assert.Equal(0.0, TargetSelectivity.Score(onOther, Square, other));
        Assert.Equal(0.25, TargetSelectivity.Score(onBoth, Square, other), 12);
        Assert.Equal(0.5, TargetSelectivity.Score(new float[Side * Side], Square, other));
    }

    [Fact]
    public void Argmax_gives_each_pixel_one_class_and_threshold_lets_classes_overlap()
    {
        // Class 1's map covers columns 0–9 at 0.8, class 2's covers columns 5–14 at 0.6; truth: class 1 in columns 0–4, class 2 in 10–14.
        var map1 = new float[Side * Side];
        var map2 = new float[Side * Side];
        for (var p = 0; p < map1.Length; p++)
        {
            map1[p] = p % Side < 10 ? 0.8f : 0f;
            map2[p] = p % Side is >= 5 and < 15 ? 0.6f : 0f;
        }

        var maps = new Dictionary<int, ReadOnlyMemory<float>> { [1] = map1, [2] = map2 };
        var truth = Truth((Rectangle(0, 0, 4, 19), 1), (Rectangle(10, 0, 14, 19), 2));

        // Argmax: class 1 owns columns 0–9 (I 100, U 200), class 2 columns 10–14 (I 100, U 100), background 15–19 (I 100, U 200 with 5–9).
        Assert.Equal([new ClassOverlap(-1, 100, 200), new ClassOverlap(1, 100, 200), new ClassOverlap(2, 100, 100)],
            PseudoMaskIoU.Overlaps(maps, truth, PseudoMaskRule.Argmax, 0.5f));

        // Threshold: class 2 also claims columns 5–9 (I 100, U 200).
        Assert.Equal([new ClassOverlap(-1, 100, 200), new ClassOverlap(1, 100, 200), new ClassOverlap(2, 100, 200)],
            PseudoMaskIoU.Overlaps(maps, truth, PseudoMaskRule.Threshold, 0.5f));

        // A background score above both maps leaves everything background.
        Assert.Equal([new ClassOverlap(-1, 200, 400), new ClassOverlap(1, 0, 100), new ClassOverlap(2, 0, 100)],
            PseudoMaskIoU.Overlaps(maps, truth, PseudoMaskRule.Argmax, 0.9f));
    }

    [Fact]
    public void Maps_and_masks_of_different_sizes_are_rejected()
    {
        Assert.Throws<ArgumentException>(() => PointingGame.Hit(new float[400], Side, new bool[399]));
        Assert.Throws<ArgumentException>(() => EnergyPointingGame.Score(new float[400], new bool[10]));
    }

    private static bool[] Rectangle(int x0, int y0, int x1, int y1)
    {
        var mask = new bool[Side * Side];
        for (var y = y0; y <= y1; y++)
        {
            for (var x = x0; x <= x1; x++)
            {
                mask[(y * Side) + x] = true;
            }
        }

        return mask;
    }

    private static int[] Truth(params (bool[] Mask, int Class)[] objects)
    {
        var truth = Enumerable.Repeat(PseudoMaskIoU.Background, Side * Side).ToArray();
        foreach (var (mask, c) in objects)
        {
            for (var p = 0; p < truth.Length; p++)
            {
                truth[p] = mask[p] ? c : truth[p];
            }
        }

        return truth;
    }
}
