namespace Salient.Cluster;

/// <summary>The models a worker serves: a fixed set (it never claims other models' shards) or any.</summary>
public sealed class HostedModels
{
    private HostedModels(IReadOnlyList<string>? keys) => Keys = keys;

    /// <summary>Any model.</summary>
    public static HostedModels Any { get; } = new(null);

    /// <summary>The model keys, or <c>null</c> for any model.</summary>
    public IReadOnlyList<string>? Keys { get; }

    /// <summary>Exactly these models (<c>any</c> among them means any model).</summary>
    public static HostedModels Only(IEnumerable<string> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var list = keys.Distinct(StringComparer.Ordinal).ToArray();
        return list.Contains("any", StringComparer.Ordinal) ? Any : new HostedModels(list);
    }

    /// <summary>Parses a <c>--models</c> value: <c>any</c> or comma-separated model keys.</summary>
    public static HostedModels Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Only(value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    /// <inheritdoc />
    public override string ToString() => Keys is null ? "any" : string.Join(',', Keys);
}
