namespace Salient.Imaging.Datasets;

/// <summary>
/// Labelled images of one size for training and evaluation. Pixels come out as floats in [0, 1],
/// [channels, height, width]; labels are class indices (one per image for single-label sets, any
/// number for multi-label ones).
/// </summary>
public abstract class LabeledImageSet
{
    /// <summary>How many images.</summary>
    public abstract int Count { get; }

    /// <summary>1 (gray) or 3 (RGB).</summary>
    public abstract int Channels { get; }

    /// <summary>Image height in pixels.</summary>
    public abstract int Height { get; }

    /// <summary>Image width in pixels.</summary>
    public abstract int Width { get; }

    /// <summary>The class names, index = class.</summary>
    public abstract IReadOnlyList<string> ClassNames { get; }

    /// <summary>Whether an image may carry several labels (train with sigmoid + binary cross-entropy).</summary>
    public abstract bool MultiLabel { get; }

    /// <summary>Inputs that were left out because they could not be read, each with the reason.</summary>
    public virtual IReadOnlyList<string> Skipped => [];

    /// <summary>Writes image <paramref name="index"/> as [channels, height, width] floats in [0, 1] and returns its classes.</summary>
    public abstract IReadOnlyList<int> Read(int index, Span<float> destination);

    /// <summary>The classes of image <paramref name="index"/>.</summary>
    public abstract IReadOnlyList<int> Labels(int index);

    /// <summary>Converts interleaved RGB or gray bytes to planar floats in [0, 1].</summary>
    protected static void ToPlanar(ReadOnlySpan<byte> interleaved, int channels, Span<float> destination)
    {
        var plane = interleaved.Length / channels;
        if (destination.Length != interleaved.Length)
        {
            throw new ArgumentException($"The destination holds {destination.Length} values; the image has {interleaved.Length}.", nameof(destination));
        }

        for (var c = 0; c < channels; c++)
        {
            var target = destination.Slice(c * plane, plane);
            for (var i = 0; i < plane; i++)
            {
                target[i] = interleaved[(i * channels) + c] / 255f;
            }
        }
    }
}
