using Salient.Engine;
using Salient.Imaging.Datasets;

namespace Salient.Training;

/// <summary>
/// A frozen backbone's output for every image of a set, computed once and kept in memory, served
/// as a labelled set of feature maps [C, h, w]: a head trains on it without running the backbone
/// again each epoch. Labels are the images' own.
/// </summary>
public sealed class CachedFeatures : LabeledImageSet
{
    private const string FileTag = "salient.cached-features.v1";

    private readonly LabeledImageSet _images;
    private readonly float[][] _features;
    private readonly IReadOnlyList<int>[] _labels;
    private readonly int[] _shape;

    private CachedFeatures(LabeledImageSet images, float[][] features, IReadOnlyList<int>[] labels, int[] shape)
    {
        _images = images;
        _features = features;
        _labels = labels;
        _shape = shape;
    }

    public override int Count => _features.Length;

    public override int Channels => _shape[0];

    public override int Height => _shape[1];

    public override int Width => _shape[2];

    public override IReadOnlyList<string> ClassNames => _images.ClassNames;

    public override bool MultiLabel => _images.MultiLabel;

    public override IReadOnlyList<string> Skipped => _images.Skipped;

    /// <summary>
    /// Runs <paramref name="backbone"/> (inference) on every image of <paramref name="images"/>,
    /// normalized by <paramref name="mean"/> and <paramref name="std"/>, in batches;
    /// <paramref name="progress"/> sees the images done after each batch.
    /// </summary>
    public static CachedFeatures Compute(LabeledImageSet images, Model backbone, float[] mean, float[] std, Action<int>? progress = null, int batchSize = 32)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(backbone);
        var features = new float[images.Count][];
        var labels = new IReadOnlyList<int>[images.Count];
        int[]? shape = null;
        var indices = Enumerable.Range(0, images.Count).ToArray();
        for (var start = 0; start < images.Count; start += batchSize)
        {
            var count = Math.Min(batchSize, images.Count - start);
            using var batch = Tensor.Uninitialized(count, images.Channels, images.Height, images.Width);
            ImageBatches.Fill(images, indices.AsSpan(start, count), batch, mean, std).CopyTo(labels, start);
            using var output = backbone.Forward(batch);
            if (output.Rank != 4)
            {
                throw new ArgumentException($"The backbone's output is {output}; a feature map [N,C,h,w] is needed.");
            }

            shape ??= [output.Dim(1), output.Dim(2), output.Dim(3)];
            var size = output.Length / count;
            for (var i = 0; i < count; i++)
            {
                features[start + i] = output.Span.Slice(i * size, size).ToArray();
            }

            progress?.Invoke(start + count);
        }

        return new CachedFeatures(images, features, labels, shape ?? [0, 0, 0]);
    }

    /// <summary>
    /// The features of <paramref name="images"/> that <see cref="Save"/> wrote to <paramref name="path"/>;
    /// throws <see cref="InvalidDataException"/> naming the file when it does not hold one feature map
    /// per image.
    /// </summary>
    public static CachedFeatures Load(string path, LabeledImageSet images)
    {
        ArgumentNullException.ThrowIfNull(images);
        using var reader = new BinaryReader(File.OpenRead(path));
        if (reader.ReadString() != FileTag)
        {
            throw new InvalidDataException($"{path} is not a feature cache.");
        }

        var count = reader.ReadInt32();
        int[] shape = [reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32()];
        if (count != images.Count || shape.Any(d => d <= 0))
        {
            throw new InvalidDataException($"{path} holds {count} feature maps [{string.Join(',', shape)}]; {images.Count} are needed.");
        }

        var size = shape[0] * shape[1] * shape[2];
        var features = new float[count][];
        var labels = new IReadOnlyList<int>[count];
        for (var i = 0; i < count; i++)
        {
            labels[i] = [.. Enumerable.Range(0, reader.ReadInt32()).Select(_ => reader.ReadInt32())];
            features[i] = new float[size];
            reader.BaseStream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(features[i].AsSpan()));
        }

        return new CachedFeatures(images, features, labels, shape);
    }

    /// <summary>Writes the feature maps and labels to <paramref name="path"/> for <see cref="Load"/>.</summary>
    public void Save(string path)
    {
        var partial = path + ".partial";
        using (var writer = new BinaryWriter(File.Create(partial)))
        {
            writer.Write(FileTag);
            writer.Write(Count);
            foreach (var d in _shape)
            {
                writer.Write(d);
            }

            for (var i = 0; i < Count; i++)
            {
                writer.Write(_labels[i].Count);
                foreach (var label in _labels[i])
                {
                    writer.Write(label);
                }

                writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_features[i].AsSpan()));
            }
        }

        File.Move(partial, path, overwrite: true);
    }

    public override IReadOnlyList<int> Read(int index, Span<float> destination)
    {
        _features[index].CopyTo(destination);
        return _labels[index];
    }

    public override IReadOnlyList<int> Labels(int index) => _labels[index];
}
