using Salient.Engine;

namespace Salient.Methods.Attribution;

/// <summary>
/// Feature ablation over grid features (Captum's FeatureAblation with a grid feature mask): the image
/// is cut into cell × cell squares (the last row and column cut by the edge), each set to the baseline
/// in turn; every pixel of a square gets that square's logit drop.
/// </summary>
internal sealed class FeatureAblation : RectangleAblation
{
    private readonly int _cell;

    public FeatureAblation(Model model, ExplainOptions options)
        : base(model, options)
    {
        _cell = WholeParameter("cell", 1);
    }

    private protected override IReadOnlyList<(int Top, int Left, int Height, int Width)> Rectangles(int height, int width) =>
        [.. Enumerable.Range(0, (height + _cell - 1) / _cell).SelectMany(row => Enumerable.Range(0, (width + _cell - 1) / _cell).Select(column =>
            (row * _cell, column * _cell, Math.Min(_cell, height - (row * _cell)), Math.Min(_cell, width - (column * _cell)))))];
}
