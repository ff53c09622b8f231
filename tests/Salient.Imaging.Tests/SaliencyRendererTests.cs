using System.Text.Json;

namespace Salient.Imaging.Tests;

public sealed class SaliencyRendererTests
{
    [Fact]
    public void Heatmap_indexes_the_colormap_with_truncated_levels_and_clamps()
    {
        // uint8(255 * v) in float32: 0.5 -> 127, 0.999 -> 254, 1/255 -> 1; outside [0, 1] clamps.
        float[] map = [0f, 0.5f, 0.999f, 1f, 1f / 255, -3f, 7f, float.PositiveInfinity];
        int[] levels = [0, 127, 254, 255, 1, 0, 255, 255];

        using var heat = SaliencyRenderer.Heatmap(map, 4, 2, Colormap.Turbo);

        var table = Colormaps.Table(Colormap.Turbo);
        for (var i = 0; i < map.Length; i++)
        {
            Assert.Equal(table.Slice(levels[i] * 3, 3).ToArray(), heat.Pixels.Slice(i * 3, 3).ToArray());
        }
    }

    [Fact]
    public void Overlay_follows_show_cam_on_image_on_a_two_by_two_case()
    {
        // map levels 0, 255, 127, 63 -> jet (0,0,128), (128,0,0), (126,255,130), (0,124,255).
        // cam = 0.5*heat/255 + 0.5*img/255; the largest sample is pixel 2's blue, 0.5*130/255 + 0.5 = 0.7549,
        // so e.g. pixel 0's red is uint8(255 * 0.5 / 0.7549) = 168 and pixel 2's blue 255.
        float[] map = [0f, 1f, 0.5f, 0.25f];
        using var image = Image(2, 2, [255, 0, 0, 0, 255, 0, 0, 0, 255, 128, 128, 128]);

        using var half = SaliencyRenderer.Overlay(map, image);
        using var mostlyImage = SaliencyRenderer.Overlay(map, image, Colormap.Jet, alpha: 0.3);

        // Expected values: pytorch-grad-cam's show_cam_on_image run in NumPy (use_rgb=True, image_weight 0.5 and 0.7).
        Assert.Equal([168, 0, 84, 84, 168, 0, 83, 168, 255, 84, 166, 253], half.Pixels.ToArray());
        Assert.Equal([209, 0, 45, 45, 209, 0, 44, 89, 255, 105, 148, 194], mostlyImage.Pixels.ToArray());
    }

    [Fact]
    public void Overlay_rescales_by_the_maximum_and_keeps_an_all_black_blend_black()
    {
        using var dark = Image(2, 2, [10, 20, 30, 40, 50, 60, 0, 0, 0, 5, 5, 5]);
        using var black = Image(1, 2, [0, 0, 0, 0, 0, 0]);

        using var scaled = SaliencyRenderer.Overlay([0.1f, 0.2f, 0.3f, 0f], dark, Colormap.Gray);
        using var none = SaliencyRenderer.Overlay([0f, 0f], black, Colormap.Gray);

        Assert.Equal([80, 103, 126, 209, 232, 255, 174, 174, 174, 11, 11, 11], scaled.Pixels.ToArray());
        Assert.All(none.Pixels.ToArray(), v => Assert.Equal(0, v));
    }

    [Fact]
    public void Overlay_alpha_zero_and_one_show_only_the_image_or_only_the_heatmap()
    {
        float[] map = [0.2f, 0.9f];
        using var image = Image(2, 1, [255, 10, 20, 30, 40, 50]);
        using var heat = SaliencyRenderer.Heatmap(map, 2, 1);

        using var imageOnly = SaliencyRenderer.Overlay(map, image, alpha: 0);
        using var heatOnly = SaliencyRenderer.Overlay(map, image, alpha: 1);

        Assert.Equal(image.Pixels.ToArray(), imageOnly.Pixels.ToArray());
        Assert.Equal(heat.Pixels.ToArray(), heatOnly.Pixels.ToArray()); // jet's 0.9 entry holds a 255
        Assert.Throws<ArgumentOutOfRangeException>(() => SaliencyRenderer.Overlay(map, image, alpha: 1.5));
        Assert.Throws<ArgumentException>(() => SaliencyRenderer.Overlay([0f], image));
    }

    [Theory]
    [InlineData(0.5f, new byte[] { 0, 255, 255, 255, 0, 0 })]
    [InlineData(0.2f, new byte[] { 255, 255, 255, 255, 0, 255 })]
    [InlineData(0f, new byte[] { 255, 255, 255, 255, 255, 255 })]
    [InlineData(1f, new byte[] { 0, 0, 0, 255, 0, 0 })]
    [InlineData(1.5f, new byte[] { 0, 0, 0, 0, 0, 0 })]
    public void Mask_is_255_where_the_map_reaches_the_threshold(float threshold, byte[] expected)
    {
        float[] map = [0.49999f, 0.5f, 0.51f, 1.2f, -0.1f, 0.2f];
        var mask = new byte[6];

        SaliencyRenderer.Mask(map, 3, 2, mask, threshold);

        Assert.Equal(expected, mask);
    }

    [Fact]
    public void Box_is_the_largest_region_with_inclusive_bounds_and_mean_score()
    {
        // A 2-pixel blob top left and a 5-pixel L bottom right (1.4 counts as 1).
        float[] map =
        [
            0.9f, 0.7f, 0f, 0f, 0f,
            0f, 0f, 0f, 0f, 0.6f,
            0f, 0f, 0f, 0f, 0.6f,
            0f, 0f, 0.8f, 1.4f, 0.6f,
        ];

        var box = SaliencyRenderer.Box(map, 5, 4);

        Assert.NotNull(box);
        Assert.Equal(new SaliencyBox(2, 1, 4, 3, 5, 0f), box.Value with { Score = 0f });
        Assert.Equal(0.72, box.Value.Score, 1e-6);
    }

    [Fact]
    public void Diagonal_neighbours_join_a_region()
    {
        float[] map =
        [
            1f, 0f, 0f, 0f,
            0f, 1f, 0f, 1f,
            0f, 0f, 1f, 0f,
            1f, 1f, 0f, 0f,
        ];

        var box = SaliencyRenderer.Box(map, 4, 4);

        // (0,0) (1,1) (2,2) (3,1) chain diagonally; (1,3) touches (2,2) diagonally and (0,3) touches (1,3).
        Assert.Equal(new SaliencyBox(0, 0, 3, 3, 6, 1f), box);
    }

    [Fact]
    public void Equal_regions_keep_the_first_in_row_major_order()
    {
        float[] map = [0f, 0f, 0.6f, 0f, 0.9f, 0f, 0f];

        Assert.Equal(new SaliencyBox(2, 0, 2, 0, 1, 0.6f), SaliencyRenderer.Box(map, 7, 1));
    }

    [Fact]
    public void An_empty_mask_has_no_box()
    {
        Assert.Null(SaliencyRenderer.Box(new float[12], 4, 3));
        Assert.Null(SaliencyRenderer.Box([0.49f, 0.2f], 2, 1));
    }

    [Fact]
    public void Box_serialises_with_the_manifest_field_names()
    {
        var json = JsonSerializer.Serialize(new SaliencyBox(1, 2, 3, 4, 5, 0.5f));

        Assert.Equal("""{"x0":1,"y0":2,"x1":3,"y1":4,"area":5,"score":0.5}""", json);
    }

    [Fact]
    public void Nan_in_a_map_is_rejected_naming_the_pixel()
    {
        var map = new float[6];
        map[4] = float.NaN;
        using var image = Image(3, 2, new byte[18]);

        foreach (var render in new Action[]
        {
            () => SaliencyRenderer.Heatmap(map, 3, 2).Dispose(),
            () => SaliencyRenderer.Overlay(map, image).Dispose(),
            () => SaliencyRenderer.Mask(map, 3, 2, new byte[6]),
            () => SaliencyRenderer.Box(map, 3, 2),
        })
        {
            var e = Assert.Throws<ArgumentException>(render);
            Assert.Contains("NaN at x=1, y=1", e.Message, StringComparison.Ordinal);
        }

        Assert.Throws<ArgumentException>(() => SaliencyRenderer.Mask(new float[6], 3, 2, new byte[6], float.NaN));
        Assert.Throws<ArgumentException>(() => SaliencyRenderer.Heatmap(new float[5], 3, 2));
    }

    private static RgbImage Image(int width, int height, byte[] pixels)
    {
        var image = RgbImage.Create(width, height);
        pixels.CopyTo(image.Pixels);
        return image;
    }
}
