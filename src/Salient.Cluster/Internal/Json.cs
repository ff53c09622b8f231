using System.Text.Json;

namespace Salient.Cluster.Internal;

/// <summary>The one JSON convention of the tables: camelCase names, as the REST API will use.</summary>
public static class Json
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options);

    public static T Deserialize<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, Options) ?? throw new JsonException("Unexpected JSON null in the database.");
}
