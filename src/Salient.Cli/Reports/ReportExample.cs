using Salient.Imaging;

namespace Salient.Cli.Reports;

/// <summary>One item of the report's example grid: the picture the model saw and an overlay per method for one target.</summary>
internal sealed class ReportExample(string item, int targetClass, string? label, RgbImage seen) : IDisposable
{
    private readonly Dictionary<string, RgbImage> _overlays = new(StringComparer.Ordinal);

    public string Item => item;

    public int Class => targetClass;

    public string? Label => label;

    public RgbImage Seen => seen;

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
