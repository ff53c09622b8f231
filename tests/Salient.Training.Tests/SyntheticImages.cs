using Salient.Imaging.Datasets;

namespace Salient.Training.Tests;

/// <summary>
/// A learnable toy set: each class lights a different quadrant of an 8×8 image over noise
/// (mirroring swaps classes, so train it without flips).
/// Multi-label images light the quadrants of all their classes.
/// </summary>
internal sealed class SyntheticImages(int count, bool multiLabel, int seed = 0, int channels = 1) : LabeledImageSet
{
    public const int Side = 8;

    public override int Count => count;

    public override int Channels => channels;

    public override int Height => Side;

    public override int Width => Side;

    public override IReadOnlyList<string> ClassNames => ["top-left", "top-right", "bottom-left", "bottom-right"];

    public override bool MultiLabel => multiLabel;

    public override IReadOnlyList<int> Labels(int index)
    {
        var random = new Random((seed * 7919) + index);
        var first = random.Next(4);
        return multiLabel && random.Next(2) == 1 ? [.. new[] { first, (first + 1 + random.Next(3)) % 4 }.Order()] : [first];
    }

    public override IReadOnlyList<int> Read(int index, Span<float> destination)
    {
        var labels = Labels(index);
        var random = new Random((seed * 104729) + index);
        var plane = Side * Side;
        for (var c = 0; c < channels; c++)
        {
            for (var y = 0; y < Side; y++)
            {
                for (var x = 0; x < Side; x++)
                {
                    var quadrant = ((y / (Side / 2)) * 2) + (x / (Side / 2));
                    destination[(c * plane) + (y * Side) + x] = (labels.Contains(quadrant) ? 0.7f : 0.1f) + (0.2f * random.NextSingle());
                }
            }
        }

        return labels;
    }
}
