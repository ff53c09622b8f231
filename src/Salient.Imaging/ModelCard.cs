using System.Globalization;
using System.Text.Json;

namespace Salient.Imaging;

/// <summary>The resampling filter of the resize step.</summary>
public enum ResizeInterpolation
{
    /// <summary>Pillow's BILINEAR (a triangle filter, antialiased when downscaling), torchvision's default.</summary>
    Bilinear,
}

/// <summary>
/// How a model expects its input image to be prepared, read from <c>&lt;model&gt;.json</c> next to
/// <c>&lt;model&gt;.onnx</c>. The preprocessing is torchvision's
/// <c>Resize(resize) → CenterCrop(height, width) → ToTensor() → Normalize(mean, std)</c> on the
/// image as Pillow's <c>convert("RGB")</c> (or <c>convert("L")</c> for one channel) gives it.
/// </summary>
/// <remarks>
/// The JSON fields:
/// <list type="bullet">
/// <item><c>"input": {"channels": 3, "height": 224, "width": 224}</c> (required): the model's input
/// tensor is [N, channels, height, width]; channels is 1 (grayscale) or 3 (RGB).</item>
/// <item><c>"resize": 256</c> (optional): the shorter image side is resized to this and the longer
/// side to <c>int(resize * long / short)</c>, as torchvision's <c>Resize(int)</c>. When absent
/// the image is resized straight to (height, width), distorting its aspect ratio.</item>
/// <item><c>"crop": 224</c> (optional): the side of the centre crop taken after resizing. The crop is
/// always the input size, so when present it must equal height and width; it is accepted to
/// document timm/torchvision configurations.</item>
/// <item><c>"mean": [0.485, 0.456, 0.406]</c>, <c>"std": [0.229, 0.224, 0.225]</c> (required): one
/// value per channel, applied to pixel values scaled to [0, 1].</item>
/// <item><c>"labels": ["tench", ...]</c> (optional): class names, index = output index.</item>
/// <item><c>"multi_label": true</c> (optional, default false): the outputs are independent per-class
/// logits (sigmoid probabilities), not one softmax.</item>
/// <item><c>"interpolation": "bilinear"</c> (optional, the default): the only filter supported.</item>
/// <item><c>"name"</c> (optional): free text, ignored.</item>
/// </list>
/// Any other field is rejected, so that a misspelt field cannot silently change preprocessing.
/// </remarks>
public sealed class ModelCard
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private static readonly string[] KnownFields = ["input", "resize", "crop", "mean", "std", "labels", "multi_label", "interpolation", "name"];

    /// <summary>Input channels: 1 (grayscale) or 3 (RGB).</summary>
    public required int Channels { get; init; }

    /// <summary>Input height in pixels.</summary>
    public required int Height { get; init; }

    /// <summary>Input width in pixels.</summary>
    public required int Width { get; init; }

    /// <summary>The target of the shorter side before centre cropping; null resizes straight to <see cref="Height"/> x <see cref="Width"/>.</summary>
    public int? Resize { get; init; }

    /// <summary>Per-channel mean subtracted from pixel values in [0, 1].</summary>
    public required IReadOnlyList<float> Mean { get; init; }

    /// <summary>Per-channel standard deviation that mean-subtracted values are divided by.</summary>
    public required IReadOnlyList<float> Std { get; init; }

    /// <summary>Class names by output index; empty when the card has none.</summary>
    public IReadOnlyList<string> Labels { get; init; } = [];

    /// <summary>The resize filter.</summary>
    public ResizeInterpolation Interpolation { get; init; } = ResizeInterpolation.Bilinear;

    /// <summary>Whether each output is an independent class logit (sigmoid), as multi-label models trained with binary cross-entropy give.</summary>
    public bool MultiLabel { get; init; }

    /// <summary>A free-text name, written to the card and ignored when reading.</summary>
    public string? Name { get; init; }

    /// <summary>Writes the card as JSON to <paramref name="path"/>.</summary>
    public void Save(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        Validate(path);
        var card = new Dictionary<string, object?>
        {
            ["name"] = Name,
            ["input"] = new Dictionary<string, int> { ["channels"] = Channels, ["height"] = Height, ["width"] = Width },
            ["resize"] = Resize,
            ["mean"] = Mean,
            ["std"] = Std,
            ["labels"] = Labels,
            ["multi_label"] = MultiLabel,
        };
        File.WriteAllText(path, JsonSerializer.Serialize(card.Where(kv => kv.Value is not null).ToDictionary(), Indented) + "\n");
    }

    /// <summary>
    /// The card for a model without one: ImageNet mean and std (their channel averages, 0.449
    /// and 0.226, for one channel), shorter side resized to round(min(height, width) / 0.875)
    /// (256 for 224) then centre-cropped to the input size, the timm/torchvision convention.
    /// </summary>
    public static ModelCard Default(int channels, int height, int width)
    {
        var card = new ModelCard
        {
            Channels = channels,
            Height = height,
            Width = width,
            Resize = (int)Math.Round(Math.Min(height, width) / 0.875, MidpointRounding.AwayFromZero),
            Mean = channels == 1 ? [0.449f] : [0.485f, 0.456f, 0.406f],
            Std = channels == 1 ? [0.226f] : [0.229f, 0.224f, 0.225f],
        };
        card.Validate("the default model card");
        return card;
    }

    /// <summary>Reads and validates the card at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The card is malformed; the message names the file and the field.</exception>
    public static ModelCard Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] json;
        try
        {
            json = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidDataException($"Cannot read model card '{path}': {e.Message}", e);
        }

        return Parse(json, path);
    }

    /// <summary>
    /// The card <c>&lt;model&gt;.json</c> beside <paramref name="modelPath"/> (<c>&lt;model&gt;.onnx</c>),
    /// or null when there is none (use <see cref="Default"/> then).
    /// </summary>
    /// <exception cref="InvalidDataException">The card exists but is malformed.</exception>
    public static ModelCard? TryLoadForModel(string modelPath)
    {
        ArgumentNullException.ThrowIfNull(modelPath);
        var path = Path.ChangeExtension(modelPath, ".json");
        return File.Exists(path) ? Load(path) : null;
    }

    /// <summary>Parses and checks a card from its JSON bytes; <paramref name="source"/> names it in errors.</summary>
    public static ModelCard Parse(ReadOnlySpan<byte> json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw Bad(source, $"invalid JSON ({e.Message})");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Bad(source, "the card must be a JSON object");
            }

            foreach (var field in root.EnumerateObject())
            {
                if (Array.IndexOf(KnownFields, field.Name) < 0)
                {
                    throw Bad(source, $"unknown field '{field.Name}' (known fields: {string.Join(", ", KnownFields)})");
                }
            }

            if (!root.TryGetProperty("input", out var input) || input.ValueKind != JsonValueKind.Object)
            {
                throw Bad(source, "missing 'input' object, e.g. \"input\": {\"channels\": 3, \"height\": 224, \"width\": 224}");
            }

            var height = RequiredInt(input, "height", source, "input.height");
            var width = RequiredInt(input, "width", source, "input.width");
            var interpolation = root.TryGetProperty("interpolation", out var interp) ? interp.ValueKind == JsonValueKind.String ? interp.GetString() : null : "bilinear";
            if (!string.Equals(interpolation, "bilinear", StringComparison.OrdinalIgnoreCase))
            {
                throw Bad(source, $"'interpolation' is {interp.GetRawText()}; only \"bilinear\" is supported");
            }

            var crop = OptionalInt(root, "crop", source);
            if (crop is { } side && (side != height || side != width))
            {
                throw Bad(source, $"'crop' {side} does not match the input size {height}x{width}: the centre crop must produce the model's input");
            }

            var card = new ModelCard
            {
                Channels = RequiredInt(input, "channels", source, "input.channels"),
                Height = height,
                Width = width,
                Resize = OptionalInt(root, "resize", source),
                Mean = Floats(root, "mean", source),
                Std = Floats(root, "std", source),
                Labels = ReadLabels(root, source),
                MultiLabel = root.TryGetProperty("multi_label", out var multi) && (multi.ValueKind is JsonValueKind.True or JsonValueKind.False
                    ? multi.GetBoolean()
                    : throw Bad(source, "'multi_label' must be true or false")),
                Name = root.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String ? name.GetString() : null,
            };
            card.Validate(source);
            return card;
        }
    }

    /// <summary>Checks the invariants every card must hold; <paramref name="source"/> names it in errors.</summary>
    internal void Validate(string source)
    {
        if (Channels is not (1 or 3))
        {
            throw Bad(source, $"input.channels is {Channels}; only 1 (grayscale) and 3 (RGB) are supported");
        }

        if (Height <= 0 || Width <= 0 || Resize <= 0)
        {
            throw Bad(source, $"sizes must be positive (input {Height}x{Width}, resize {Resize})");
        }

        if (Mean.Count != Channels || Std.Count != Channels)
        {
            throw Bad(source, $"'mean' and 'std' need {Channels} value(s), one per input channel; found {Mean.Count} and {Std.Count}");
        }

        foreach (var s in Std)
        {
            if (!(s > 0) || !float.IsFinite(s))
            {
                throw Bad(source, $"'std' values must be positive, found {s.ToString(CultureInfo.InvariantCulture)}");
            }
        }
    }

    private static InvalidDataException Bad(string source, string problem) => new($"Model card '{source}': {problem}.");

    private static int RequiredInt(JsonElement obj, string name, string source, string path) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i)
            ? i
            : throw Bad(source, $"'{path}' must be an integer");

    private static int? OptionalInt(JsonElement obj, string name, string source) =>
        obj.TryGetProperty(name, out var v) ? RequiredInt(obj, name, source, name) : null;

    private static float[] Floats(JsonElement root, string name, string source)
    {
        if (!root.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            throw Bad(source, $"'{name}' must be an array of numbers, one per channel");
        }

        var values = new List<float>();
        foreach (var item in array.EnumerateArray())
        {
            values.Add(item.ValueKind == JsonValueKind.Number ? (float)item.GetDouble() : throw Bad(source, $"'{name}' holds a non-number {item.GetRawText()}"));
        }

        return [.. values];
    }

    private static string[] ReadLabels(JsonElement root, string source)
    {
        if (!root.TryGetProperty("labels", out var array))
        {
            return [];
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw Bad(source, "'labels' must be an array of strings");
        }

        var labels = new List<string>();
        foreach (var item in array.EnumerateArray())
        {
            labels.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw Bad(source, $"'labels' holds a non-string {item.GetRawText()}"));
        }

        return [.. labels];
    }
}
