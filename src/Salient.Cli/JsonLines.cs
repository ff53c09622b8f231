using System.Text.Json;

namespace Salient.Cli;

/// <summary>Writes one JSON object per line, flushed per line, so a crash never leaves half a record behind.</summary>
internal sealed class JsonLines(Stream stream)
{
    public void Write(Action<Utf8JsonWriter> fields)
    {
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            fields(json);
            json.WriteEndObject();
        }

        stream.WriteByte((byte)'\n');
    }

    /// <summary>
    /// Parses each non-blank line of <paramref name="path"/> with <paramref name="parse"/>; a malformed line is an
    /// <see cref="InvalidDataException"/> naming <paramref name="what"/>, the file, the line and <paramref name="expected"/>.
    /// </summary>
    public static List<T> Read<T>(string path, string what, string expected, Func<JsonElement, T> parse)
    {
        var records = new List<T>();
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
                records.Add(parse(document.RootElement));
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                throw new InvalidDataException($"{what} '{path}' line {number}: expected {expected} ({e.Message}).", e);
            }
        }

        return records;
    }

    /// <summary>The line of an input that failed.</summary>
    public void WriteError(string input, string error) => Write(json =>
    {
        json.WriteString("input", input);
        json.WriteString("error", error);
    });
}
