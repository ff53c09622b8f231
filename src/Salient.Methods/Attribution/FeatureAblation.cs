using Salient.Engine;

namespace Salient.Methods.Attribution;

/// <summary>
/// Feature ablation over grid features (Captum's FeatureAblation with a grid feature mask): the image
/// is cut into cell × cell squares (<see cref="GridFeatures"/>), each set to the baseline in turn;
/// every pixel of a square gets that square's logit drop.
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
        GridFeatures.Cells(height, width, _cell);
}
