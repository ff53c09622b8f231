using System.Text.Json;
using System.Text.Json.Nodes;

namespace Salient.Cluster;

/// <summary>
/// Sums numeric fields key by key, nested objects included; other values are dropped. Shards
/// therefore report sums and counts (<c>{"hits": 7, "images": 10}</c>), never ratios, so that the
/// job's figures are exact.
/// </summary>
public sealed class SumMetricsMerger : IMetricsMerger
{
    /// <inheritdoc />
    public JsonObject Merge(IReadOnlyList<ShardMetrics> shards)
    {
        ArgumentNullException.ThrowIfNull(shards);
        var total = new JsonObject();
        foreach (var shard in shards)
        {
            Add(total, shard.Metrics);
        }

        return total;
    }

    private static void Add(JsonObject total, JsonObject part)
    {
        foreach (var (key, value) in part)
        {
            switch (value?.GetValueKind())
            {
                case JsonValueKind.Number:
                    var sum = value.GetValue<double>() + (total[key] is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>() : 0);
                    total[key] = sum;
                    break;
                case JsonValueKind.Object:
                    if (total[key] is not JsonObject nested)
                    {
                        nested = [];
                        total[key] = nested;
                    }

                    Add(nested, value.AsObject());
                    break;
                default:
                    break;
            }
        }
    }
}
