using System.Text.Json;
using System.Text.Json.Serialization;

namespace Salient.Methods.Pipeline;

/// <summary>
/// One manifest line: an item × method × target with its output files (paths relative to the run's
/// root: the CLI's output folder, a job's <c>jobs/&lt;id&gt;/</c>) or its metrics, or the error that
/// stopped it (then <see cref="Class"/> may be null: the item failed as a whole). <c>salient explain</c>,
/// <c>salient eval</c> and the cluster's workers write the same records for the same work
/// (docs/api.md, "manifest records"); the client SDK reads them as <c>ResultRecord</c>.
/// </summary>
/// <param name="Item">The input as the run names it: a path, or a blob name.</param>
/// <param name="Method">The explanation method.</param>
/// <param name="Layer">The layers the method used, defaults resolved, comma-separated; null for methods that use none.</param>
/// <param name="Class">The target class.</param>
/// <param name="Label">The class's label from the model card.</param>
/// <param name="Score">The model's probability of the class.</param>
/// <param name="Outputs">Output files by kind (<c>map</c>, <c>raw</c>, <c>concepts</c>, <c>png</c>, <c>overlay</c>, <c>mask</c>, <c>boxes</c>).</param>
/// <param name="Error">Why the item or target failed.</param>
/// <param name="Metrics">The target's explanation-quality scores (an evaluation), by metric name.</param>
/// <param name="Seconds">Explaining time per map in the item's batch: the one field that differs between runs of the same work.</param>
/// <param name="Target">
/// The score explained when it is not the class's own logit: a contrast or weighted sum of logits in the target syntax
/// (<c>contrast:3,5</c>, <c>weights:3=1,5=-0.5</c>), <see cref="Class"/> being its first class; null (left out) for a plain target.
/// </param>
public sealed record ManifestRecord(string Item, string Method, string? Layer, int? Class, string? Label, double? Score,
    IReadOnlyDictionary<string, string>? Outputs, string? Error, IReadOnlyDictionary<string, double>? Metrics = null, double? Seconds = null, string? Target = null)
{
    /// <summary>The manifest's JSON conventions, the REST API's: snake_case names, nulls left out.</summary>
    public static JsonSerializerOptions JsonOptions { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Where an output file goes, relative to the run's root: <c>items/&lt;stem&gt;&lt;suffix&gt;</c>.</summary>
    public static string OutputPath(string stem, string suffix) => $"items/{stem}{suffix}";

    /// <summary>The record as one JSON line, newline included.</summary>
    public byte[] ToJsonLine()
    {
        using var buffer = new MemoryStream();
        JsonSerializer.Serialize(buffer, this, JsonOptions);
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}
