namespace Salient.Imaging.Datasets;

/// <summary>Some images of another set, in a given order (a train/validation split).</summary>
public sealed class ImageSubset : LabeledImageSet
{
    private readonly LabeledImageSet _source;
    private readonly int[] _indices;

    /// <summary>The images <paramref name="indices"/> of <paramref name="source"/>.</summary>
    public ImageSubset(LabeledImageSet source, IEnumerable<int> indices)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(indices);
        _source = source;
        _indices = [.. indices];
        foreach (var i in _indices)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(i);
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(i, source.Count);
        }
    }

    /// <summary>
    /// Splits <paramref name="source"/> at random (seeded) into a training part and a validation
    /// part of <paramref name="validationFraction"/> of the images (at least one each).
    /// </summary>
    public static (ImageSubset Train, ImageSubset Validation) Split(LabeledImageSet source, double validationFraction, int seed)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (source.Count < 2 || validationFraction is <= 0 or >= 1)
        {
            throw new ArgumentException($"Cannot split {source.Count} image(s) with a validation fraction of {validationFraction}; need two images and a fraction in (0, 1).");
        }

        var order = Enumerable.Range(0, source.Count).ToArray();
        new Random(seed).Shuffle(order);
        var validation = Math.Clamp((int)Math.Round(source.Count * validationFraction), 1, source.Count - 1);
        return (new ImageSubset(source, order[validation..]), new ImageSubset(source, order[..validation]));
    }

    /// <inheritdoc/>
    public override int Count => _indices.Length;

    /// <inheritdoc/>
    public override int Channels => _source.Channels;

    /// <inheritdoc/>
    public override int Height => _source.Height;

    /// <inheritdoc/>
    public override int Width => _source.Width;

    /// <inheritdoc/>
    public override IReadOnlyList<string> ClassNames => _source.ClassNames;

    /// <inheritdoc/>
    public override bool MultiLabel => _source.MultiLabel;

    /// <inheritdoc/>
    public override IReadOnlyList<int> Read(int index, Span<float> destination) => _source.Read(_indices[index], destination);

    /// <inheritdoc/>
    public override IReadOnlyList<int> Labels(int index) => _source.Labels(_indices[index]);
}
