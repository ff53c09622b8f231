namespace Salient.Imaging.Datasets;

/// <summary>
/// Makes localization scenes: square RGB canvases holding one to <c>maxObjects</c> Fashion-MNIST
/// items of different classes, each upscaled bilinearly to a side of a quarter to a half of the
/// canvas, colourised, and placed at random over a cluttered background (smooth noise, stripes or
/// blobs in muted colours). Later items occlude earlier ones; each object keeps at least
/// <see cref="MinVisibleFraction"/> of its pixels visible. Scene <c>i</c> depends only on the
/// items, the seed, the size, the object limit and <c>i</c>, so the same arguments give
/// byte-identical scenes.
/// </summary>
public sealed class SceneGenerator
{
    /// <summary>An item pixel belongs to its object's mask when its value is above this (of 255), before colourisation.</summary>
    public const int MaskThreshold = 32;

    /// <summary>The share of an item's mask pixels that must stay on the canvas and unoccluded.</summary>
    public const double MinVisibleFraction = 0.6;

    private const int PlacementTries = 20;

    private readonly FashionMnist _items;
    private readonly int _seed;
    private readonly int[][] _byClass;

    /// <summary>Creates a generator over <paramref name="items"/>.</summary>
    /// <param name="items">The split to draw items from; it needs at least one item.</param>
    /// <param name="seed">Selects the sequence of scenes.</param>
    /// <param name="size">Canvas side in pixels, at least 32.</param>
    /// <param name="maxObjects">At most this many objects per scene, 1–10; fewer when the split has fewer classes.</param>
    public SceneGenerator(FashionMnist items, int seed, int size = 96, int maxObjects = 3)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 32);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxObjects, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxObjects, FashionMnist.ClassNames.Count);
        if (items.Count == 0)
        {
            throw new ArgumentException("The split holds no items.", nameof(items));
        }

        _items = items;
        _seed = seed;
        Size = size;
        MaxObjects = maxObjects;
        _byClass = [.. Enumerable.Range(0, FashionMnist.ClassNames.Count)
            .Select(c => Enumerable.Range(0, items.Count).Where(i => items.Label(i) == c).ToArray())];
    }

    /// <summary>Canvas side in pixels.</summary>
    public int Size { get; }

    /// <summary>The most objects a scene holds.</summary>
    public int MaxObjects { get; }

    /// <summary>
    /// Makes scene <paramref name="index"/> of this generator's sequence. An item with no pixel
    /// above <see cref="MaskThreshold"/> is never placed, so a split of only such items gives empty scenes.
    /// </summary>
    public Scene Generate(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var random = new Random(Mix(_seed, index));
        var canvas = Background.Paint(random, Size);
        var owner = new int[Size * Size];
        Array.Fill(owner, -1);

        var classes = Enumerable.Range(0, _byClass.Length).Where(c => _byClass[c].Length > 0).ToArray();
        random.Shuffle(classes);
        var wanted = Math.Min(random.Next(1, MaxObjects + 1), classes.Length);
        var placed = new List<Placed>();
        foreach (var c in classes.Take(wanted))
        {
            var item = _byClass[c][random.Next(_byClass[c].Length)];
            var side = random.Next(Size / 4, (Size / 2) + 1);
            var values = Upscale(_items.Image(item), side);
            var full = values.Count(v => v > MaskThreshold);
            float[] colour = [random.Next(60, 256), random.Next(60, 256), random.Next(60, 256)];
            if (Place(random, values, side, full, owner, placed) is { } at)
            {
                Paint(canvas, owner, values, side, at.X, at.Y, colour, placed.Count);
                placed.Add(new Placed(c, item, full) { Visible = at.Visible });
            }
        }

        var objects = new List<SceneObject>(placed.Count);
        for (var k = 0; k < placed.Count; k++)
        {
            objects.Add(Visible(owner, k, placed[k]));
        }

        var pixels = new byte[canvas.Length];
        for (var i = 0; i < canvas.Length; i++)
        {
            pixels[i] = (byte)Math.Clamp(MathF.Round(canvas[i]), 0, 255);
        }

        return new Scene(Size, pixels, objects);
    }

    /// <summary>
    /// A top-left corner where the item keeps <see cref="MinVisibleFraction"/> of its mask on the
    /// canvas and leaves every earlier object that much of its own; null when none is found.
    /// The first object falls back to the centre, so every scene has one. On success the earlier
    /// objects' visible counts are updated and the new one's is returned.
    /// </summary>
    private (int X, int Y, int Visible)? Place(Random random, float[] values, int side, int full, int[] owner, List<Placed> placed)
    {
        if (full == 0)
        {
            return null;
        }

        var margin = side / 4;
        var lost = new int[placed.Count];
        for (var attempt = 0; attempt < PlacementTries; attempt++)
        {
            var x = random.Next(-margin, Size - side + margin + 1);
            var y = random.Next(-margin, Size - side + margin + 1);
            Array.Clear(lost);
            var inside = 0;
            for (var v = 0; v < side; v++)
            {
                for (var u = 0; u < side; u++)
                {
                    int cx = x + u, cy = y + v;
                    if (values[(v * side) + u] > MaskThreshold && cx >= 0 && cy >= 0 && cx < Size && cy < Size)
                    {
                        inside++;
                        var o = owner[(cy * Size) + cx];
                        if (o >= 0)
                        {
                            lost[o]++;
                        }
                    }
                }
            }

            var fits = inside >= MinVisibleFraction * full;
            for (var k = 0; fits && k < placed.Count; k++)
            {
                fits = placed[k].Visible - lost[k] >= MinVisibleFraction * placed[k].Full;
            }

            if (fits)
            {
                for (var k = 0; k < placed.Count; k++)
                {
                    placed[k].Visible -= lost[k];
                }

                return (x, y, inside);
            }
        }

        // Centred, an item no more than half the canvas wide lies wholly on it.
        return placed.Count == 0 ? ((Size - side) / 2, (Size - side) / 2, full) : null;
    }

    /// <summary>Blends the colourised item over the canvas and gives it the pixels of its mask.</summary>
    private void Paint(float[] canvas, int[] owner, float[] values, int side, int x, int y, ReadOnlySpan<float> colour, int k)
    {
        for (var v = 0; v < side; v++)
        {
            for (var u = 0; u < side; u++)
            {
                int cx = x + u, cy = y + v;
                var value = values[(v * side) + u];
                if (cx < 0 || cy < 0 || cx >= Size || cy >= Size || value <= 0)
                {
                    continue;
                }

                // Opaque from twice the mask threshold up, so masked pixels are mostly the item's;
                // the shade keeps the item's texture, with a floor so dark parts keep their colour.
                var alpha = Math.Min(value / (2 * MaskThreshold), 1f);
                var shade = 0.35f + (0.65f * value / 255f);
                var p = (cy * Size) + cx;
                for (var ch = 0; ch < 3; ch++)
                {
                    canvas[(3 * p) + ch] += alpha * ((colour[ch] * shade) - canvas[(3 * p) + ch]);
                }

                if (value > MaskThreshold)
                {
                    owner[p] = k;
                }
            }
        }
    }

    private SceneObject Visible(int[] owner, int k, Placed placed)
    {
        var mask = new byte[Size * Size];
        int x0 = Size, y0 = Size, x1 = -1, y1 = -1, area = 0;
        for (var p = 0; p < owner.Length; p++)
        {
            if (owner[p] == k)
            {
                mask[p] = 255;
                area++;
                int x = p % Size, y = p / Size;
                (x0, y0, x1, y1) = (Math.Min(x0, x), Math.Min(y0, y), Math.Max(x1, x), Math.Max(y1, y));
            }
        }

        return new SceneObject(placed.Class, placed.Item, mask, new SceneBox(x0, y0, x1, y1), area);
    }

    /// <summary>Bilinear resampling of a 28×28 item to side×side, pixel centres aligned.</summary>
    private static float[] Upscale(ReadOnlySpan<byte> item, int side)
    {
        const int n = FashionMnist.Side;
        var result = new float[side * side];
        for (var v = 0; v < side; v++)
        {
            var sy = Math.Clamp((((v + 0.5f) * n) / side) - 0.5f, 0, n - 1);
            var y0 = (int)sy;
            var y1 = Math.Min(y0 + 1, n - 1);
            var fy = sy - y0;
            for (var u = 0; u < side; u++)
            {
                var sx = Math.Clamp((((u + 0.5f) * n) / side) - 0.5f, 0, n - 1);
                var x0 = (int)sx;
                var x1 = Math.Min(x0 + 1, n - 1);
                var fx = sx - x0;
                var top = item[(y0 * n) + x0] + (fx * (item[(y0 * n) + x1] - item[(y0 * n) + x0]));
                var bottom = item[(y1 * n) + x0] + (fx * (item[(y1 * n) + x1] - item[(y1 * n) + x0]));
                result[(v * side) + u] = top + (fy * (bottom - top));
            }
        }

        return result;
    }

    /// <summary>SplitMix64 of (seed, index), so neighbouring seeds and indices give unrelated streams.</summary>
    private static int Mix(int seed, int index)
    {
        var z = ((ulong)(uint)seed << 32) | (uint)index;
        z += 0x9E3779B97F4A7C15;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return (int)((z ^ (z >> 31)) & int.MaxValue);
    }

    /// <summary>An object painted so far: its item, its mask size alone, and how much of it is still visible.</summary>
    private sealed record Placed(int Class, int Item, int Full)
    {
        public int Visible { get; set; }
    }
}
