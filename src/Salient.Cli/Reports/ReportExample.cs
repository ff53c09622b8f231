using System.Globalization;
using Salient.Imaging;

namespace Salient.Cli.Reports;

/// <summary>
/// One item of the report's example grid: the picture the model saw, an overlay per method for one
/// target, and the item's true classes beside the model's predicted ones (label and probability).
/// </summary>
internal sealed class ReportExample(string item, int targetClass, string? label, RgbImage seen, IReadOnlyList<string> truth, IReadOnlyList<(string Label, double Probability)> predicted)
    : IDisposable
{
    private readonly Dictionary<string, RgbImage> _overlays = new(StringComparer.Ordinal);

    public string Item => item;

    public int Class => targetClass;

    public string? Label => label;

    public RgbImage Seen => seen;

    /// <summary>"true T-shirt/top, Bag; predicted Bag (0.97)": what the item holds and what the model says.</summary>
    public string Labels => string.Create(CultureInfo.InvariantCulture,
        $"true {(truth.Count == 0 ? "(none given)" : string.Join(", ", truth))}; predicted {(predicted.Count == 0 ? "nothing" : string.Join(", ", predicted.Select(p => $"{p.Label} ({p.Probability:F2})")))}");

    public IReadOnlyDictionary<string, RgbImage> Overlays => _overlays;

    /// <summary>Keeps the first overlay of each method.</summary>
    public void AddOverlay(string method, ReadOnlySpan<float> map)
    {
        if (!_overlays.ContainsKey(method))
        {
            _overlays[method] = SaliencyRenderer.Overlay(map, seen);
        }
    }

    public void Dispose()
    {
        seen.Dispose();
        foreach (var overlay in _overlays.Values)
        {
            overlay.Dispose();
        }
    }
}
