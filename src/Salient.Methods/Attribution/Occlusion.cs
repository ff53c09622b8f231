using Salient.Engine;

namespace Salient.Methods.Attribution;

/// <summary>
/// Occlusion (Zeiler and Fergus; Captum's Occlusion): a window × window square slid by stride pixels
/// (ceil((size − window)/stride) + 1 positions per axis, the last cut by the edge) is set to the
/// baseline; each pixel gets the mean logit drop of the windows covering it.
/// </summary>
internal sealed class Occlusion : RectangleAblation
{
    private readonly int _window;
    private readonly int _stride;

    public Occlusion(Model model, ExplainOptions options)
        : base(model, options)
    {
        _window = WholeParameter("window", 1);
        _stride = WholeParameter("stride", 1, _window);
    }

    private protected override IReadOnlyList<(int Top, int Left, int Height, int Width)> Rectangles(int height, int width)
    {
        if (_window > height || _window > width)
        {
            throw new ArgumentException($"occlusion: the window ({_window}) is larger than the input ({height}×{width}).");
        }

        var rows = Starts(height);
        var columns = Starts(width);
        return [.. rows.SelectMany(top => columns.Select(left => (top, left, Math.Min(_window, height - top), Math.Min(_window, width - left))))];
    }

    private int[] Starts(int size) => [.. Enumerable.Range(0, ((size - _window + _stride - 1) / _stride) + 1).Select(i => i * _stride)];
}
