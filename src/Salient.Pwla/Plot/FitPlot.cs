using Salient.Imaging.Plot;

namespace Salient.Pwla.Plot;

/// <summary>
/// The picture `salient pwla fit` writes: top panel the target (black, or grey dots for samples), the fit (red) and
/// its knots (dashed blue); bottom panel the residual f − g (green) around a grey zero line. No text.
/// </summary>
internal static class FitPlot
{
    private const int Width = 900;
    private const int Margin = 20;
    private const int TopHeight = 420;
    private const int BottomHeight = 200;

    /// <summary>Draws the plot; the caller encodes the canvas's RGB pixels (the CLI writes a PNG).</summary>
    public static Canvas Render(PwlaTarget target, PiecewiseLinear fit)
    {
        var canvas = new Canvas(Width, TopHeight + BottomHeight + (3 * Margin));
        var (xs, ys) = target.Sample(Width * 2);
        var isSamples = target is SampleTarget;
        var fitValues = xs.Select(fit.Evaluate).ToArray();
        var residuals = ys.Select((y, i) => y - fitValues[i]).ToArray();

        var top = new PlotPanel(target.A, target.B, ys.Concat(fitValues), Margin, Margin, Width - Margin, Margin + TopHeight);
        var bottom = new PlotPanel(target.A, target.B, residuals.Append(0), Margin, (2 * Margin) + TopHeight, Width - Margin, (2 * Margin) + TopHeight + BottomHeight);
        foreach (var panel in new[] { top, bottom })
        {
            canvas.Rectangle(panel.Left, panel.Top, panel.Right, panel.Bottom, Rgb.Grey);
        }

        canvas.Line(bottom.X(target.A), bottom.Y(0), bottom.X(target.B), bottom.Y(0), Rgb.Grey);
        foreach (var knot in fit.Knots)
        {
            canvas.Line(top.X(knot), top.Top, top.X(knot), top.Bottom, Rgb.Blue, dash: 4);
            canvas.Line(bottom.X(knot), bottom.Top, bottom.X(knot), bottom.Bottom, Rgb.Blue, dash: 4);
        }

        for (var i = 0; i < xs.Length; i++)
        {
            if (isSamples)
            {
                canvas.Dot(top.X(xs[i]), top.Y(ys[i]), Rgb.Grey, 1.5);
                canvas.Dot(bottom.X(xs[i]), bottom.Y(residuals[i]), Rgb.Green, 1.5);
            }
            else if (i > 0)
            {
                canvas.Line(top.X(xs[i - 1]), top.Y(ys[i - 1]), top.X(xs[i]), top.Y(ys[i]), Rgb.Black, 2);
                canvas.Line(bottom.X(xs[i - 1]), bottom.Y(residuals[i - 1]), bottom.X(xs[i]), bottom.Y(residuals[i]), Rgb.Green, 2);
            }
        }

        // Each segment drawn on its own, so jumps show as gaps rather than vertical strokes.
        for (var k = 0; k < fit.Segments; k++)
        {
            var (start, end) = fit.Segment(k);
            canvas.Line(top.X(start), top.Y(fit.Line(k, start)), top.X(end), top.Y(fit.Line(k, end)), Rgb.Red, 2);
            canvas.Dot(top.X(start), top.Y(fit.Line(k, start)), Rgb.Red, 3);
            canvas.Dot(top.X(end), top.Y(fit.Line(k, end)), Rgb.Red, 3);
        }

        return canvas;
    }
}
