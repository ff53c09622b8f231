using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Salient.Client;
using Salient.Storage;

namespace Salient.Cluster.Internal;

/// <summary>A manifest item: its image blob, labels, and objects with mask blobs.</summary>
public sealed record DatasetItem(string Image, IReadOnlyList<int> Labels, IReadOnlyList<(int Class, string Mask)> Objects);

/// <summary>
/// The items of a job's inputs: blob names under a prefix, the lines of a manifest blob (the scenes
/// format, paths relative to the manifest), or explicit names. Manifests are cached per blob.
/// </summary>
public sealed class JobDataset(IBlobStore blobs)
{
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".npy"];

    private readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyDictionary<string, DatasetItem>>>> _manifests = new(StringComparer.Ordinal);

    /// <summary>The item keys of <paramref name="inputs"/>, in order.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(JobInputs inputs, CancellationToken cancellationToken)
    {
        if (inputs.Items is { } items)
        {
            return items;
        }

        if (inputs.Manifest is { } manifest)
        {
            return [.. (await ReadManifestAsync(manifest, cancellationToken).ConfigureAwait(false)).Keys];
        }

        var names = new List<string>();
        await foreach (var blob in blobs.ListAsync(inputs.Prefix!, cancellationToken).ConfigureAwait(false))
        {
            if (ImageExtensions.Any(e => blob.Name.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
            {
                names.Add(blob.Name);
            }
        }

        return names;
    }

    /// <summary>The manifest's items by image blob name, in manifest order; cached.</summary>
    public Task<IReadOnlyDictionary<string, DatasetItem>> ReadManifestAsync(string manifest, CancellationToken cancellationToken) =>
        _manifests.GetOrAdd(manifest, m => new(() => ParseAsync(m, CancellationToken.None))).Value.WaitAsync(cancellationToken);

    private async Task<IReadOnlyDictionary<string, DatasetItem>> ParseAsync(string manifest, CancellationToken cancellationToken)
    {
        var root = manifest.Contains('/', StringComparison.Ordinal) ? manifest[..(manifest.LastIndexOf('/') + 1)] : "";
        var text = Encoding.UTF8.GetString(await blobs.ReadAllBytesAsync(manifest, cancellationToken).ConfigureAwait(false));
        var items = new Dictionary<string, DatasetItem>(StringComparer.Ordinal);
        var number = 0;
        foreach (var line in text.Split('\n'))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            try
            {
                using var document = JsonDocument.Parse(line);
                var item = document.RootElement;
                var image = root + (item.TryGetProperty("image", out var i) ? i : item.GetProperty("input")).GetString();
                int[] labels = item.TryGetProperty("labels", out var l) ? [.. l.EnumerateArray().Select(e => e.GetInt32())] : [];
                (int, string)[] objects = item.TryGetProperty("objects", out var o)
                    ? [.. o.EnumerateArray().Select(x => (x.GetProperty("class").GetInt32(), root + x.GetProperty("mask").GetString()))]
                    : [];
                items[image] = new DatasetItem(image, labels, objects);
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"Manifest '{manifest}' line {number}: expected {{\"image\": ..., \"labels\": [...], \"objects\": [{{\"class\", \"mask\"}}]}} ({e.Message}).", e);
            }
        }

        return items;
    }
}
