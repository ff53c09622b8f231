using System.Buffers.Binary;
using System.IO.Compression;

namespace Salient.Imaging.Datasets;

/// <summary>
/// One split of Fashion-MNIST: 28×28 gray items (0 background, 255 brightest) and their classes
/// 0–9, read from the IDX files of Debian's <c>dataset-fashion-mnist</c>.
/// </summary>
public sealed class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> installs the IDX files.</summary>
    public const string DefaultDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>The side of every item, in pixels.</summary>
    public const int Side = 28;

    private const int ImageMagic = 0x00000803;
    private const int LabelMagic = 0x00000801;

    private readonly byte[] _pixels;
    private readonly byte[] _labels;

    /// <summary>Wraps items already in memory, for example a small synthetic set.</summary>
    /// <param name="pixels"><c>labels.Length</c> items of <see cref="Side"/>×<see cref="Side"/> bytes, row-major, one after another.</param>
    /// <param name="labels">The class of each item, 0–9.</param>
    public FashionMnist(byte[] pixels, byte[] labels)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (pixels.LongLength != (long)labels.Length * Side * Side)
        {
            throw new ArgumentException($"{labels.Length} labels need {labels.Length * Side * Side} pixel bytes, not {pixels.Length}.", nameof(pixels));
        }

        var bad = Array.FindIndex(labels, l => l >= ClassNames.Count);
        if (bad >= 0)
        {
            throw new ArgumentException($"Label {labels[bad]} of item {bad} is not a class 0–9.", nameof(labels));
        }

        _pixels = pixels;
        _labels = labels;
    }

    /// <summary>The names of classes 0–9, in order.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>How many items the split holds.</summary>
    public int Count => _labels.Length;

    /// <summary>Item <paramref name="index"/>: <see cref="Side"/>×<see cref="Side"/> gray bytes, row-major.</summary>
    public ReadOnlySpan<byte> Image(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Count);
        return _pixels.AsSpan(index * Side * Side, Side * Side);
    }

    /// <summary>The class, 0–9, of item <paramref name="index"/>.</summary>
    public int Label(int index) => _labels[index];

    /// <summary>
    /// Loads split <c>train</c> (60,000 items) or <c>test</c> (10,000) from
    /// <paramref name="directory"/>, <see cref="DefaultDirectory"/> when null. Each file may be
    /// gzip-compressed (<c>train-images-idx3-ubyte.gz</c>) or plain (<c>train-images-idx3-ubyte</c>).
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder is missing.</exception>
    /// <exception cref="FileNotFoundException">A file of the split is missing.</exception>
    /// <exception cref="InvalidDataException">A file is not a valid IDX file, or the images and labels disagree; the message names the file.</exception>
    public static FashionMnist Load(string split, string? directory = null)
    {
        ArgumentNullException.ThrowIfNull(split);
        var prefix = split switch
        {
            "train" => "train",
            "test" => "t10k",
            _ => throw new ArgumentException($"Unknown split '{split}'; expected 'train' or 'test'.", nameof(split)),
        };
        directory ??= DefaultDirectory;
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException(
                $"Fashion-MNIST folder {directory} not found; install it with `apt-get install dataset-fashion-mnist`.");
        }

        return Read(Find(directory, $"{prefix}-images-idx3-ubyte"), Find(directory, $"{prefix}-labels-idx1-ubyte"));
    }

    /// <summary>Reads an IDX image file and its IDX label file, each gzip-compressed or plain.</summary>
    /// <exception cref="InvalidDataException">A file is not a valid IDX file of 28×28 images or labels 0–9, or the counts differ; the message names the file.</exception>
    public static FashionMnist Read(string imagesPath, string labelsPath)
    {
        var images = ReadIdx(imagesPath, ImageMagic, [Side, Side]);
        var labels = ReadIdx(labelsPath, LabelMagic, []);
        if (images.Count != labels.Count)
        {
            throw new InvalidDataException($"{imagesPath} holds {images.Count} images but {labelsPath} holds {labels.Count} labels.");
        }

        var bad = Array.FindIndex(labels.Data, l => l >= ClassNames.Count);
        if (bad >= 0)
        {
            throw new InvalidDataException($"{labelsPath}: label {labels.Data[bad]} of item {bad} is not a class 0–9.");
        }

        return new FashionMnist(images.Data, labels.Data);
    }

    private static string Find(string directory, string name)
    {
        foreach (var candidate in new[] { name + ".gz", name })
        {
            var path = Path.Combine(directory, candidate);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new FileNotFoundException($"Neither {name}.gz nor {name} is in {directory}; reinstall `dataset-fashion-mnist`.", Path.Combine(directory, name + ".gz"));
    }

    /// <summary>Reads an IDX file whose header must be <paramref name="magic"/>, a count, then exactly <paramref name="dims"/>.</summary>
    private static (int Count, byte[] Data) ReadIdx(string path, int magic, int[] dims)
    {
        using var file = File.OpenRead(path);
        var gzip = file.ReadByte() == 0x1F && file.ReadByte() == 0x8B;
        file.Position = 0;
        using var stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        try
        {
            Span<byte> header = stackalloc byte[4 * (2 + dims.Length)];
            Fill(stream, header, path, "header");
            var actual = BinaryPrimitives.ReadInt32BigEndian(header);
            if (actual != magic)
            {
                throw new InvalidDataException($"{path}: magic number 0x{actual:X8} is not 0x{magic:X8}; not an IDX {(dims.Length == 0 ? "label" : "image")} file.");
            }

            var count = BinaryPrimitives.ReadInt32BigEndian(header[4..]);
            long size = Math.Max(count, 0);
            for (var d = 0; d < dims.Length; d++)
            {
                var dim = BinaryPrimitives.ReadInt32BigEndian(header[(8 + (4 * d))..]);
                if (dim != dims[d])
                {
                    throw new InvalidDataException($"{path}: dimension {d + 1} is {dim}, expected {dims[d]}.");
                }

                size *= dim;
            }

            if (count < 0 || size > Array.MaxLength)
            {
                throw new InvalidDataException($"{path}: item count {count} is out of range.");
            }

            var data = new byte[size];
            Fill(stream, data, path, $"{count} items");
            if (stream.ReadByte() >= 0)
            {
                throw new InvalidDataException($"{path}: data continues past the {count} items the header declares.");
            }

            return (count, data);
        }
        catch (InvalidDataException e) when (!e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            // GZipStream's own errors do not say which file was corrupt.
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }

    private static void Fill(Stream stream, Span<byte> buffer, string path, string what)
    {
        var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        if (read < buffer.Length)
        {
            throw new InvalidDataException($"{path}: truncated; the {what} need {buffer.Length} bytes but only {read} remain.");
        }
    }
}
