namespace Salient.Imaging.Datasets;

/// <summary>
/// Cluttered scene backgrounds in muted colours: smooth value noise, stripes, or soft blobs, then a
/// few thin strokes in item-like colours and per-pixel grain, so that neither a flat region nor
/// brightness and saturation alone give the objects away. Only IEEE
/// basic operations and square roots are used, so a seed gives the same bytes on every machine.
/// </summary>
internal static class Background
{
    private static readonly (int X, int Y)[] Directions = [(1, 0), (0, 1), (1, 1), (1, -1), (2, 1), (1, 2), (2, -1), (1, -2)];

    /// <summary>A size×size RGB canvas, channel values 0–255.</summary>
    public static float[] Paint(Random random, int size)
    {
        var canvas = new float[size * size * 3];
        switch (random.Next(3))
        {
            case 0:
                Noise(random, canvas, size);
                break;
            case 1:
                Stripes(random, canvas, size);
                break;
            default:
                Blobs(random, canvas, size);
                break;
        }

        Strokes(random, canvas, size);
        for (var i = 0; i < canvas.Length; i++)
        {
            canvas[i] += random.Next(-10, 11);
        }

        return canvas;
    }

    /// <summary>A gray level of 50–170 with each channel nudged by up to 35: colours that never dominate.</summary>
    private static float[] Muted(Random random)
    {
        var gray = random.Next(50, 171);
        return [gray + random.Next(-35, 36), gray + random.Next(-35, 36), gray + random.Next(-35, 36)];
    }

    /// <summary>Random muted colours on a coarse grid, interpolated bilinearly.</summary>
    private static void Noise(Random random, float[] canvas, int size)
    {
        var cells = random.Next(3, 7);
        var stride = cells + 1;
        var grid = new float[stride * stride][];
        for (var gy = 0; gy <= cells; gy++)
        {
            for (var gx = 0; gx <= cells; gx++)
            {
                grid[(gy * stride) + gx] = Muted(random);
            }
        }

        for (var y = 0; y < size; y++)
        {
            var sy = (float)y * cells / size;
            var gy = (int)sy;
            var fy = sy - gy;
            for (var x = 0; x < size; x++)
            {
                var sx = (float)x * cells / size;
                var gx = (int)sx;
                var fx = sx - gx;
                for (var c = 0; c < 3; c++)
                {
                    var (p00, p01) = (grid[(gy * stride) + gx][c], grid[(gy * stride) + gx + 1][c]);
                    var (p10, p11) = (grid[((gy + 1) * stride) + gx][c], grid[((gy + 1) * stride) + gx + 1][c]);
                    var top = p00 + (fx * (p01 - p00));
                    var bottom = p10 + (fx * (p11 - p10));
                    canvas[(3 * ((y * size) + x)) + c] = top + (fy * (bottom - top));
                }
            }
        }
    }

    /// <summary>Two muted colours alternating in soft (triangle-wave) stripes of random direction and period.</summary>
    private static void Stripes(Random random, float[] canvas, int size)
    {
        var (a, b) = (Muted(random), Muted(random));
        var (dx, dy) = Directions[random.Next(Directions.Length)];
        var length = MathF.Sqrt((dx * dx) + (dy * dy));
        var period = random.Next(5, 15);
        var phase = random.Next(period);
        for (var y = 0; y < size; y++)
        {
            for (var x = 0; x < size; x++)
            {
                var along = (((dx * x) + (dy * y)) / length) + phase;
                var t = (along - (period * MathF.Floor(along / period))) / period;
                var w = 1 - Math.Abs((2 * t) - 1);
                for (var c = 0; c < 3; c++)
                {
                    canvas[(3 * ((y * size) + x)) + c] = a[c] + (w * (b[c] - a[c]));
                }
            }
        }
    }

    /// <summary>Soft-edged discs of muted colours over a muted ground.</summary>
    private static void Blobs(Random random, float[] canvas, int size)
    {
        var ground = Muted(random);
        for (var i = 0; i < canvas.Length; i++)
        {
            canvas[i] = ground[i % 3];
        }

        var count = random.Next(6, 15);
        for (var n = 0; n < count; n++)
        {
            var (cx, cy) = (random.Next(size), random.Next(size));
            var radius = random.Next((size / 24) + 1, (size / 6) + 1);
            var colour = Muted(random);
            for (var y = Math.Max(cy - radius - 1, 0); y <= Math.Min(cy + radius + 1, size - 1); y++)
            {
                for (var x = Math.Max(cx - radius - 1, 0); x <= Math.Min(cx + radius + 1, size - 1); x++)
                {
                    var d = MathF.Sqrt(((x - cx) * (x - cx)) + ((y - cy) * (y - cy)));
                    var alpha = 0.8f * Math.Clamp(radius - d, 0, 1);
                    for (var c = 0; c < 3; c++)
                    {
                        var p = (3 * ((y * size) + x)) + c;
                        canvas[p] += alpha * (colour[c] - canvas[p]);
                    }
                }
            }
        }
    }

    /// <summary>Two to five one-pixel line segments, coloured from the same range as the items.</summary>
    private static void Strokes(Random random, float[] canvas, int size)
    {
        var count = random.Next(2, 6);
        for (var n = 0; n < count; n++)
        {
            var (dx, dy) = Directions[random.Next(Directions.Length)];
            var unit = 1 / MathF.Sqrt((dx * dx) + (dy * dy));
            var (x0, y0) = (random.Next(size), random.Next(size));
            var length = random.Next(size / 12, (size / 3) + 1);
            float[] colour = [random.Next(60, 256), random.Next(60, 256), random.Next(60, 256)];
            var (lastX, lastY) = (-1, -1);
            for (var t = 0f; t < length; t += 0.5f)
            {
                // Half-pixel steps leave no gaps; a pixel reached twice is painted once.
                var x = (int)MathF.Round(x0 + (t * dx * unit));
                var y = (int)MathF.Round(y0 + (t * dy * unit));
                if (x < 0 || y < 0 || x >= size || y >= size)
                {
                    break;
                }

                if ((x, y) == (lastX, lastY))
                {
                    continue;
                }

                (lastX, lastY) = (x, y);
                for (var c = 0; c < 3; c++)
                {
                    var p = (3 * ((y * size) + x)) + c;
                    canvas[p] += 0.7f * (colour[c] - canvas[p]);
                }
            }
        }
    }
}
