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

    /// <summary>The line of an input that failed.</summary>
    public void WriteError(string input, string error) => Write(json =>
    {
        json.WriteString("input", input);
        json.WriteString("error", error);
    });
}
