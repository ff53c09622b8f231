using System.Text.Json;

namespace Salient.Imaging.Datasets;

/// <summary>An object of a <see cref="SceneRecord"/>: its class and the path of its mask (gray PNG, nonzero on the object).</summary>
/// <param name="Class">The class index.</param>
/// <param name="Mask">The mask's path, relative to the manifest's folder.</param>
public sealed record SceneRecordObject(int Class, string Mask);

/// <summary>One line of a scenes manifest: an image, its labels and its objects.</summary>
/// <param name="Image">The image's path, relative to the manifest's folder.</param>
/// <param name="Labels">The classes present.</param>
/// <param name="Objects">The objects with masks (may be empty for an image with labels only).</param>
public sealed record SceneRecord(string Image, IReadOnlyList<int> Labels, IReadOnlyList<SceneRecordObject> Objects);

/// <summary>Reads the <c>manifest.jsonl</c> that <see cref="SceneWriter"/> writes (or any file of such lines).</summary>
public static class SceneManifest
{
    /// <summary>
    /// The records of <paramref name="path"/>, in order, blank lines skipped. Each line needs
    /// <c>image</c>; <c>labels</c> and <c>objects</c> (<c>[{"class", "mask"}]</c>) are optional.
    /// </summary>
    /// <exception cref="InvalidDataException">A line is malformed; the message names the file and line.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static IReadOnlyList<SceneRecord> Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var records = new List<SceneRecord>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                var objects = root.TryGetProperty("objects", out var list)
                    ? list.EnumerateArray().Select(o => new SceneRecordObject(o.GetProperty("class").GetInt32(), o.GetProperty("mask").GetString()!)).ToArray()
                    : [];
                var labels = root.TryGetProperty("labels", out var classes) ? classes.EnumerateArray().Select(e => e.GetInt32()).ToArray() : [.. objects.Select(o => o.Class).Distinct().Order()];
                records.Add(new SceneRecord(root.GetProperty("image").GetString() ?? throw new InvalidOperationException("\"image\" is null"), labels, objects));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"Dataset '{path}' line {number}: expected {{\"image\": ..., \"labels\": [...], \"objects\": [{{\"class\", \"mask\"}}]}} ({e.Message}).", e);
            }
        }

        return records;
    }
}
