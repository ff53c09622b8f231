using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Attribution;

/// <summary>
/// Occlusion and feature ablation (Captum's Occlusion and FeatureAblation over rectangles): each
/// rectangle of pixels, in every channel, is set to the baseline; the drop y(x) − y(x ablated) of a
/// target is credited to the rectangle's pixels and divided by the number of rectangles covering each
/// pixel. Raw [C,H,W] (all channels equal).
/// </summary>
internal abstract class RectangleAblation : PerturbationExplainer
{
    private protected RectangleAblation(Model model, ExplainOptions options)
        : base(model, options)
    {
        Baseline = (float)Parameter("baseline");
    }

    /// <summary>The value ablated pixels take (in the model's input space, after preprocessing).</summary>
    private protected float Baseline { get; }

    /// <summary>The rectangles (top, left, height, width; cut at the edges) of an image of <paramref name="height"/> × <paramref name="width"/>.</summary>
    private protected abstract IReadOnlyList<(int Top, int Left, int Height, int Width)> Rectangles(int height, int width);

    protected sealed override Tensor[] Attribute(Tensor image, ReadOnlySpan<float> logits, IReadOnlyList<int> targets)
    {
        var (channels, height, width) = (image.Dim(0), image.Dim(1), image.Dim(2));
        var plane = height * width;
        var rectangles = Rectangles(height, width);
        var pixels = image.Memory;
        var scores = TargetScores(image, rectangles.Count, (i, copy) =>
        {
            pixels.Span.CopyTo(copy);
            var (top, left, h, w) = rectangles[i];
            for (var c = 0; c < channels; c++)
            {
                for (var y = top; y < top + h; y++)
                {
                    copy.Slice((c * plane) + (y * width) + left, w).Fill(Baseline);
                }
            }
        }, targets);

        var coverage = new int[plane];
        var credit = targets.Select(_ => new double[plane]).ToArray();
        for (var i = 0; i < rectangles.Count; i++)
        {
            var (top, left, h, w) = rectangles[i];
            for (var y = top; y < top + h; y++)
            {
                for (var x = left; x < left + w; x++)
                {
                    coverage[(y * width) + x]++;
                    for (var t = 0; t < targets.Count; t++)
                    {
                        credit[t][(y * width) + x] += logits[targets[t]] - scores[i][t];
                    }
                }
            }
        }

        return [.. credit.Select(sum =>
        {
            var raw = Tensor.Uninitialized(channels, height, width);
            for (var p = 0; p < plane; p++)
            {
                var value = coverage[p] == 0 ? 0f : (float)(sum[p] / coverage[p]);
                for (var c = 0; c < channels; c++)
                {
                    raw.Span[(c * plane) + p] = value;
                }
            }

            return raw;
        })];
    }
}
