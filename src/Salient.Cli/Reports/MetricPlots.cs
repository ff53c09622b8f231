using Salient.Methods.Metrics;
using Salient.Imaging.Plot;

namespace Salient.Cli.Reports;

/// <summary>The report's pictures, drawn on <see cref="Canvas"/> without text: the report's tables and legends name what they show.</summary>
internal static class MetricPlots
{
    private const int Width = 640;
    private const int Height = 400;
    private const int Margin = 30;

    /// <summary>The colour of the i-th method (matplotlib's tab10), and its hex code for legends.</summary>
    public static Rgb Colour(int method) => Palette[method % Palette.Length];

    public static string Hex(int method) => $"#{Colour(method).R:x2}{Colour(method).G:x2}{Colour(method).B:x2}";

    private static readonly Rgb[] Palette =
    [
        new(31, 119, 180), new(255, 127, 14), new(44, 160, 44), new(214, 39, 40), new(148, 103, 189),
        new(140, 86, 75), new(227, 119, 194), new(127, 127, 127), new(188, 189, 34), new(23, 190, 207),
    ];

    private static readonly Rgb Light = new(225, 225, 225);

    /// <summary>Mean curves, one colour per method; <c>Dash</c> &gt; 0 draws a series dashed. The y axis always spans [0, 1].</summary>
    public static Canvas Curves(IReadOnlyList<(int Method, CurveSummary Curve, int Dash)> series)
    {
        var canvas = new Canvas(Width, Height);
        var xs = series.SelectMany(s => s.Curve.X).DefaultIfEmpty(0).ToList();
        var panel = new PlotPanel(Math.Min(0, xs.Min()), Math.Max(1, xs.Max()), series.SelectMany(s => s.Curve.Mean).Append(0).Append(1), Margin, Margin, Width - Margin, Height - Margin);
        Frame(canvas, panel);
        foreach (var (method, curve, dash) in series)
        {
            for (var i = 1; i < curve.X.Count; i++)
            {
                canvas.Line(panel.X(curve.X[i - 1]), panel.Y(curve.Mean[i - 1]), panel.X(curve.X[i]), panel.Y(curve.Mean[i]), Colour(method), 2, dash);
            }

            for (var i = 0; i < curve.X.Count; i++)
            {
                canvas.Dot(panel.X(curve.X[i]), panel.Y(curve.Mean[i]), Colour(method), 2.5);
            }
        }

        return canvas;
    }

    /// <summary>Grouped bars: one group per metric, left to right, one bar per method in method order; values[metric][method], NaN for none.</summary>
    public static Canvas Bars(double[][] values, int methods)
    {
        var canvas = new Canvas(Width, Height);
        var groups = Math.Max(1, values.Length);
        var panel = new PlotPanel(0, groups, values.SelectMany(v => v).Append(0).Append(1), Margin, Margin, Width - Margin, Height - Margin);
        Frame(canvas, panel);
        var slot = (panel.Right - panel.Left) / (double)groups;
        var bar = slot * 0.8 / Math.Max(1, methods);
        for (var g = 0; g < values.Length; g++)
        {
            for (var m = 0; m < values[g].Length; m++)
            {
                if (double.IsFinite(values[g][m]))
                {
                    var left = panel.Left + (g * slot) + (slot * 0.1) + (m * bar);
                    canvas.FillRectangle((int)Math.Round(left), (int)Math.Round(panel.Y(0)), (int)Math.Round(left + bar) - 1, (int)Math.Round(panel.Y(values[g][m])), Colour(m));
                }
            }
        }

        canvas.Line(panel.Left, panel.Y(0), panel.Right, panel.Y(0), Rgb.Black);
        return canvas;
    }

    /// <summary>Rows of examples: the picture the model saw, then each method's overlay (blank where a method has none).</summary>
    public static Canvas Examples(IReadOnlyList<ReportExample> examples, IReadOnlyList<string> methods)
    {
        const int Gap = 4;
        var (width, height) = examples.Count == 0 ? (1, 1) : (examples[0].Seen.Width, examples[0].Seen.Height);
        var scale = Math.Max(1, 96 / Math.Max(width, height));
        var (cellWidth, cellHeight) = ((width * scale) + Gap, (height * scale) + Gap);
        var canvas = new Canvas((cellWidth * (methods.Count + 1)) + Gap, (cellHeight * Math.Max(1, examples.Count)) + Gap);
        for (var row = 0; row < examples.Count; row++)
        {
            var pictures = methods.Select(m => examples[row].Overlays.GetValueOrDefault(m)).Prepend(examples[row].Seen).ToArray();
            for (var column = 0; column < pictures.Length; column++)
            {
                if (pictures[column] is { } picture)
                {
                    canvas.Paste(picture.Pixels, picture.Width, picture.Height, Gap + (column * cellWidth), Gap + (row * cellHeight), scale);
                }
            }
        }

        return canvas;
    }

    /// <summary>The panel's border and light grid lines at every quarter of a unit.</summary>
    private static void Frame(Canvas canvas, PlotPanel panel)
    {
        for (var q = -8; q <= 8; q++)
        {
            var y = panel.Y(q / 4.0);
            if (y > panel.Top && y < panel.Bottom)
            {
                canvas.Line(panel.Left, y, panel.Right, y, Light);
            }
        }

        canvas.Rectangle(panel.Left, panel.Top, panel.Right, panel.Bottom, Rgb.Grey);
    }
}
