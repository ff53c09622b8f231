namespace Salient.Cluster.Contracts;

/// <summary>The key of a model grain: which model, on which silo (its parsable address), on which device.</summary>
/// <param name="Model">The model's key.</param>
/// <param name="Silo">The silo's parsable address (<c>SiloAddress.ToParsableString</c>).</param>
/// <param name="Device">The device, e.g. <c>cpu</c> or <c>cuda:0</c>.</param>
public sealed record ModelGrainKey(string Model, string Silo, string Device)
{
    /// <summary>The grain key text.</summary>
    public override string ToString() => $"{Model}|{Silo}|{Device}";

    /// <summary>Reads a key made by <see cref="ToString"/>.</summary>
    /// <exception cref="FormatException">Not a model grain key.</exception>
    public static ModelGrainKey Parse(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var parts = key.Split('|');
        return parts.Length == 3 && parts.All(p => p.Length > 0)
            ? new ModelGrainKey(parts[0], parts[1], parts[2])
            : throw new FormatException($"'{key}' is not a model grain key (model|silo|device).");
    }
}
