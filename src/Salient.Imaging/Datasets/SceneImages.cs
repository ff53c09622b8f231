namespace Salient.Imaging.Datasets;

/// <summary>
/// Scenes <c>first</c> to <c>first + count − 1</c> of a generator as a multi-label training set,
/// made on demand (a scene is cheap to paint, and deterministic by its index).
/// </summary>
public sealed class SceneImages : LabeledImageSet
{
    private readonly SceneGenerator _generator;
    private readonly int _first;
    private readonly int _count;

    /// <summary>Creates the set over <paramref name="count"/> scenes starting at index <paramref name="first"/>.</summary>
    public SceneImages(SceneGenerator generator, int first, int count)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _generator = generator;
        _first = first;
        _count = count;
    }

    /// <inheritdoc/>
    public override int Count => _count;

    /// <inheritdoc/>
    public override int Channels => 3;

    /// <inheritdoc/>
    public override int Height => _generator.Size;

    /// <inheritdoc/>
    public override int Width => _generator.Size;

    /// <inheritdoc/>
    public override IReadOnlyList<string> ClassNames => FashionMnist.ClassNames;

    /// <inheritdoc/>
    public override bool MultiLabel => true;

    /// <summary>The scene behind image <paramref name="index"/>, with its objects' masks and boxes.</summary>
    public Scene Scene(int index) => _generator.Generate(_first + CheckIndex(index));

    /// <inheritdoc/>
    public override IReadOnlyList<int> Read(int index, Span<float> destination)
    {
        var scene = Scene(index);
        ToPlanar(scene.Pixels.Span, 3, destination);
        return scene.Labels;
    }

    /// <inheritdoc/>
    public override IReadOnlyList<int> Labels(int index) => Scene(index).Labels;

    private int CheckIndex(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _count);
        return index;
    }
}
