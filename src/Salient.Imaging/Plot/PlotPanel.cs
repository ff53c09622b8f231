namespace Salient.Imaging.Plot;

/// <summary>Maps data coordinates into a pixel rectangle with 5% headroom.</summary>
public sealed class PlotPanel
{
    private readonly double _a;
    private readonly double _b;
    private readonly double _low;
    private readonly double _high;

    public PlotPanel(double a, double b, IEnumerable<double> values, int left, int top, int right, int bottom)
    {
        (_a, _b, Left, Top, Right, Bottom) = (a, b, left, top, right, bottom);
        var finite = values.Where(double.IsFinite).DefaultIfEmpty(0).ToList();
        var (low, high) = (finite.Min(), finite.Max());
        var pad = high > low ? 0.05 * (high - low) : 1;
        (_low, _high) = (low - pad, high + pad);
    }

    public int Left { get; }

    public int Top { get; }

    public int Right { get; }

    public int Bottom { get; }

    public double X(double x) => Left + ((x - _a) / (_b - _a) * (Right - Left));

    public double Y(double y) => Bottom - ((y - _low) / (_high - _low) * (Bottom - Top));
}
