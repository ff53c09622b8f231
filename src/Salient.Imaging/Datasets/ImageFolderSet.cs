using System.Text.Json;

namespace Salient.Imaging.Datasets;

/// <summary>
/// Images from disk, decoded once and resized to one size: either a folder with one subfolder per
/// class (single-label; classes are the subfolder names in ordinal order), or a JSONL manifest
/// whose lines hold <c>"image"</c> (a path relative to the manifest) and <c>"labels"</c> (class
/// indices; multi-label) — the format <c>salient scenes</c> writes. Unreadable images are skipped
/// and listed in <see cref="Skipped"/>.
/// </summary>
public sealed class ImageFolderSet : LabeledImageSet
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg"];
    private readonly List<byte[]> _pixels = [];
    private readonly List<int[]> _labels = [];
    private readonly List<string> _skipped = [];
    private readonly ImagePreprocessor _resizer;

    private ImageFolderSet(int channels, int height, int width, IReadOnlyList<string> classNames, bool multiLabel)
    {
        Channels = channels;
        Height = height;
        Width = width;
        ClassNames = classNames;
        MultiLabel = multiLabel;
        _resizer = new ImagePreprocessor(new ModelCard { Channels = channels, Height = height, Width = width, Mean = [.. Enumerable.Repeat(0f, channels)], Std = [.. Enumerable.Repeat(1f, channels)] });
    }

    /// <inheritdoc/>
    public override int Count => _pixels.Count;

    /// <inheritdoc/>
    public override int Channels { get; }

    /// <inheritdoc/>
    public override int Height { get; }

    /// <inheritdoc/>
    public override int Width { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<string> ClassNames { get; }

    /// <inheritdoc/>
    public override bool MultiLabel { get; }

    /// <inheritdoc/>
    public override IReadOnlyList<string> Skipped => _skipped;

    /// <summary>
    /// Opens a class-per-subfolder folder or a <c>.jsonl</c> manifest, resizing every image to
    /// <paramref name="height"/> × <paramref name="width"/> with <paramref name="channels"/> channels.
    /// </summary>
    /// <param name="path">The folder or manifest.</param>
    /// <param name="channels">1 (gray) or 3 (RGB).</param>
    /// <param name="height">The height images are resized to.</param>
    /// <param name="width">The width images are resized to.</param>
    /// <param name="classNames">For a manifest, the class names (index = class); the highest label decides how many when null.</param>
    /// <exception cref="InvalidDataException">The folder or manifest is malformed or holds no readable image; the message names it.</exception>
    public static ImageFolderSet Open(string path, int channels, int height, int width, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (channels is not (1 or 3) || height <= 0 || width <= 0)
        {
            throw new ArgumentException($"Images are resized to {channels} channel(s) of {height}x{width}; use 1 or 3 channels and a positive size.");
        }

        ImageFolderSet set;
        if (File.Exists(path))
        {
            set = OpenManifest(path, channels, height, width, classNames);
        }
        else if (Directory.Exists(path))
        {
            set = OpenFolder(path, channels, height, width);
        }
        else
        {
            throw new InvalidDataException($"Dataset '{path}' does not exist.");
        }

        return set.Count > 0 ? set : throw new InvalidDataException($"Dataset '{path}' holds no readable image{(set._skipped.Count > 0 ? $" ({set._skipped.Count} skipped: {set._skipped[0]})" : string.Empty)}.");
    }

    /// <inheritdoc/>
    public override IReadOnlyList<int> Read(int index, Span<float> destination)
    {
        ToPlanar(_pixels[index], Channels, destination);
        return _labels[index];
    }

    /// <inheritdoc/>
    public override IReadOnlyList<int> Labels(int index) => _labels[index];

    private static ImageFolderSet OpenFolder(string path, int channels, int height, int width)
    {
        var classes = Directory.GetDirectories(path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        if (classes.Length < 2)
        {
            throw new InvalidDataException($"Dataset folder '{path}' needs one subfolder per class (at least two); it has {classes.Length}.");
        }

        var set = new ImageFolderSet(channels, height, width, classes!, multiLabel: false);
        for (var c = 0; c < classes.Length; c++)
        {
            var files = Directory.GetFiles(Path.Combine(path, classes[c]!))
                .Where(f => ImageExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal);
            foreach (var file in files)
            {
                set.Add(file, [c]);
            }
        }

        return set;
    }

    private static ImageFolderSet OpenManifest(string path, int channels, int height, int width, IReadOnlyList<string>? classNames)
    {
        var entries = new List<(string Image, int[] Labels)>();
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var line = 0;
        foreach (var text in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            try
            {
                using var json = JsonDocument.Parse(text);
                var root = json.RootElement;
                var image = root.GetProperty("image").GetString() ?? throw new InvalidDataException("\"image\" is not a string");
                var labels = root.GetProperty("labels").EnumerateArray().Select(l => l.GetInt32()).ToArray();
                if (labels.Any(l => l < 0))
                {
                    throw new InvalidDataException("labels must be class indices ≥ 0");
                }

                entries.Add((Path.Combine(directory, image), labels));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or InvalidDataException)
            {
                throw new InvalidDataException($"Manifest '{path}' line {line}: {e.Message} (each line needs \"image\" and \"labels\").", e);
            }
        }

        var classCount = entries.Count == 0 ? 0 : entries.Max(e => e.Labels.DefaultIfEmpty(-1).Max()) + 1;
        var names = classNames ?? [.. Enumerable.Range(0, classCount).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        if (classCount > names.Count)
        {
            throw new InvalidDataException($"Manifest '{path}' uses class {classCount - 1}, but there are only {names.Count} class names.");
        }

        var set = new ImageFolderSet(channels, height, width, names, multiLabel: true);
        foreach (var (image, labels) in entries)
        {
            set.Add(image, labels);
        }

        return set;
    }

    private void Add(string file, int[] labels)
    {
        try
        {
            using var image = RgbImage.Load(file);
            using var resized = _resizer.ResizeAndCrop(image);
            var rgb = resized.Pixels;
            var pixels = new byte[Height * Width * Channels];
            for (var i = 0; i < Height * Width; i++)
            {
                // One-channel images come back as luma replicated to R, G and B.
                for (var c = 0; c < Channels; c++)
                {
                    pixels[(i * Channels) + c] = rgb[(i * 3) + c];
                }
            }

            _pixels.Add(pixels);
            _labels.Add(labels);
        }
        catch (Exception e) when (e is ImageDecodeException or IOException or UnauthorizedAccessException)
        {
            _skipped.Add($"{file}: {e.Message}");
        }
    }
}
