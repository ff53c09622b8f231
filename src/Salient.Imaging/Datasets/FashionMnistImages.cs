namespace Salient.Imaging.Datasets;

/// <summary>A Fashion-MNIST split as a single-label training set of 28×28 gray images.</summary>
public sealed class FashionMnistImages(FashionMnist data) : LabeledImageSet
{
    private readonly FashionMnist _data = data ?? throw new ArgumentNullException(nameof(data));

    /// <inheritdoc/>
    public override int Count => _data.Count;

    /// <inheritdoc/>
    public override int Channels => 1;

    /// <inheritdoc/>
    public override int Height => FashionMnist.Side;

    /// <inheritdoc/>
    public override int Width => FashionMnist.Side;

    /// <inheritdoc/>
    public override IReadOnlyList<string> ClassNames => FashionMnist.ClassNames;

    /// <inheritdoc/>
    public override bool MultiLabel => false;

    /// <inheritdoc/>
    public override IReadOnlyList<int> Read(int index, Span<float> destination)
    {
        ToPlanar(_data.Image(index), 1, destination);
        return Labels(index);
    }

    /// <inheritdoc/>
    public override IReadOnlyList<int> Labels(int index) => [_data.Label(index)];
}
