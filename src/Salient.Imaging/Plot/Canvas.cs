namespace Salient.Imaging.Plot;

/// <summary>An RGB raster with just what our plots need: lines, dots, rectangles and pasted pictures.</summary>
public sealed class Canvas
{
    private readonly byte[] _rgb;

    public Canvas(int width, int height)
    {
        Width = width;
        Height = height;
        _rgb = new byte[width * height * 3];
        _rgb.AsSpan().Fill(255);
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>Interleaved RGB, row-major.</summary>
    public ReadOnlySpan<byte> Pixels => _rgb;

    public void Pixel(int x, int y, Rgb colour)
    {
        if ((uint)x < (uint)Width && (uint)y < (uint)Height)
        {
            var i = ((y * Width) + x) * 3;
            (_rgb[i], _rgb[i + 1], _rgb[i + 2]) = (colour.R, colour.G, colour.B);
        }
    }

    /// <summary>Bresenham line; <paramref name="dash"/> &gt; 0 draws that many pixels on, then as many off.</summary>
    public void Line(double x0, double y0, double x1, double y1, Rgb colour, int thickness = 1, int dash = 0)
    {
        if (!(double.IsFinite(x0) && double.IsFinite(y0) && double.IsFinite(x1) && double.IsFinite(y1)))
        {
            return;
        }

        int ax = Clip(x0), ay = Clip(y0), bx = Clip(x1), by = Clip(y1);
        int dx = Math.Abs(bx - ax), dy = -Math.Abs(by - ay);
        int sx = ax < bx ? 1 : -1, sy = ay < by ? 1 : -1;
        var error = dx + dy;
        for (var step = 0; ; step++)
        {
            if (dash == 0 || (step / dash) % 2 == 0)
            {
                Dot(ax, ay, colour, thickness / 2.0);
            }

            if (ax == bx && ay == by)
            {
                break;
            }

            var twice = 2 * error;
            if (twice >= dy)
            {
                error += dy;
                ax += sx;
            }

            if (twice <= dx)
            {
                error += dx;
                ay += sy;
            }
        }
    }

    public void Dot(double cx, double cy, Rgb colour, double radius)
    {
        var r = (int)Math.Ceiling(radius);
        for (var y = -r; y <= r; y++)
        {
            for (var x = -r; x <= r; x++)
            {
                if ((x * x) + (y * y) <= (radius * radius) + 0.5)
                {
                    Pixel((int)Math.Round(cx) + x, (int)Math.Round(cy) + y, colour);
                }
            }
        }
    }

    public void Rectangle(int left, int top, int right, int bottom, Rgb colour)
    {
        Line(left, top, right, top, colour);
        Line(right, top, right, bottom, colour);
        Line(right, bottom, left, bottom, colour);
        Line(left, bottom, left, top, colour);
    }

    public void FillRectangle(int left, int top, int right, int bottom, Rgb colour)
    {
        for (var y = Math.Min(top, bottom); y <= Math.Max(top, bottom); y++)
        {
            for (var x = Math.Min(left, right); x <= Math.Max(left, right); x++)
            {
                Pixel(x, y, colour);
            }
        }
    }

    /// <summary>Pastes an RGB picture (<paramref name="width"/> × <paramref name="height"/>, interleaved) at (left, top), each pixel as a <paramref name="scale"/>² block.</summary>
    public void Paste(ReadOnlySpan<byte> rgb, int width, int height, int left, int top, int scale = 1)
    {
        for (var y = 0; y < height * scale; y++)
        {
            for (var x = 0; x < width * scale; x++)
            {
                var i = (((y / scale) * width) + (x / scale)) * 3;
                Pixel(left + x, top + y, new Rgb(rgb[i], rgb[i + 1], rgb[i + 2]));
            }
        }
    }

    // Keeps far-off points from turning the line walk into billions of steps.
    private static int Clip(double v) => (int)Math.Round(Math.Clamp(v, -10_000, 10_000));
}

public readonly record struct Rgb(byte R, byte G, byte B)
{
    public static readonly Rgb Black = new(0, 0, 0);
    public static readonly Rgb Grey = new(170, 170, 170);
    public static readonly Rgb Red = new(214, 39, 40);
    public static readonly Rgb Blue = new(31, 119, 180);
    public static readonly Rgb Green = new(44, 160, 44);
}
