using System.Globalization;
using System.Text.Json;

namespace Salient.Imaging.Datasets;

/// <summary>
/// Writes scenes as a folder: <c>images/scene_00000.png</c> (RGB), <c>masks/scene_00000_obj0.png</c>
/// (gray, 0 or 255) per object, and <c>manifest.jsonl</c> with one line per scene:
/// <c>{"image", "labels": [classes], "objects": [{"class", "label", "box": [x0,y0,x1,y1], "mask", "area"}]}</c>,
/// paths relative to the folder and boxes inclusive.
/// </summary>
public static class SceneWriter
{
    /// <summary>The manifest's file name inside the folder.</summary>
    public const string ManifestName = "manifest.jsonl";

    /// <summary>Writes scenes 0 to <paramref name="count"/> − 1 of <paramref name="generator"/> into <paramref name="directory"/>, creating it if needed.</summary>
    /// <param name="directory">The output folder; existing files of the same names are replaced.</param>
    /// <param name="generator">The scene source.</param>
    /// <param name="count">How many scenes.</param>
    /// <param name="progress">Called with the number of scenes written so far, after each scene.</param>
    public static void Write(string directory, SceneGenerator generator, int count, Action<int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Directory.CreateDirectory(Path.Combine(directory, "images"));
        Directory.CreateDirectory(Path.Combine(directory, "masks"));
        using var manifest = new FileStream(Path.Combine(directory, ManifestName), FileMode.Create, FileAccess.Write, FileShare.Read);
        for (var i = 0; i < count; i++)
        {
            var scene = generator.Generate(i);
            var name = "scene_" + i.ToString("D5", CultureInfo.InvariantCulture);
            var image = $"images/{name}.png";
            PngEncoder.Write(Path.Combine(directory, image), scene.Pixels.Span, scene.Size, scene.Size, PngColorType.Rgb);
            using (var json = new Utf8JsonWriter(manifest))
            {
                json.WriteStartObject();
                json.WriteString("image", image);
                json.WriteStartArray("labels");
                foreach (var label in scene.Labels)
                {
                    json.WriteNumberValue(label);
                }

                json.WriteEndArray();
                json.WriteStartArray("objects");
                for (var k = 0; k < scene.Objects.Count; k++)
                {
                    var o = scene.Objects[k];
                    var mask = $"masks/{name}_obj{k}.png";
                    PngEncoder.Write(Path.Combine(directory, mask), o.Mask.Span, scene.Size, scene.Size, PngColorType.Gray);
                    json.WriteStartObject();
                    json.WriteNumber("class", o.Class);
                    json.WriteString("label", o.Label);
                    json.WriteStartArray("box");
                    json.WriteNumberValue(o.Box.X0);
                    json.WriteNumberValue(o.Box.Y0);
                    json.WriteNumberValue(o.Box.X1);
                    json.WriteNumberValue(o.Box.Y1);
                    json.WriteEndArray();
                    json.WriteString("mask", mask);
                    json.WriteNumber("area", o.Area);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
                json.WriteEndObject();
            }

            manifest.WriteByte((byte)'\n');
            progress?.Invoke(i + 1);
        }
    }
}
