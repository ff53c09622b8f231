using System.Globalization;

namespace Salient.Engine.Devices;

/// <summary>
/// Where a tensor's storage lives and a backend computes: a kind (<c>cpu</c>, <c>cuda</c>, ...) and
/// an index among the devices of that kind. Written as <c>cpu</c> or <c>cuda:1</c>; a bare kind means index 0.
/// The default value is the host.
/// </summary>
public readonly record struct Device
{
    private readonly string? _kind;

    /// <summary>A device of <paramref name="kind"/> (lower-case letters and digits) number <paramref name="index"/>.</summary>
    public Device(string kind, int index = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        if (!kind.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9')))
        {
            throw new ArgumentException($"Device kind '{kind}' must be lower-case letters and digits.", nameof(kind));
        }

        _kind = kind;
        Index = index;
    }

    /// <summary>The host: tensors whose storage is managed memory, readable as spans.</summary>
    public static Device Cpu { get; } = new("cpu");

    /// <summary>The kind of device, e.g. <c>cpu</c> or <c>cuda</c>.</summary>
    public string Kind => _kind ?? "cpu";

    /// <summary>Which device of its kind, from 0.</summary>
    public int Index { get; }

    /// <summary>Whether this is the host.</summary>
    public bool IsCpu => Kind == "cpu";

    /// <summary>Parses <c>kind</c> or <c>kind:index</c> (e.g. <c>cpu</c>, <c>cuda</c>, <c>cuda:1</c>).</summary>
    /// <exception cref="FormatException">The text is not a device name.</exception>
    public static Device Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var kind = (colon < 0 ? text : text[..colon]).Trim().ToLowerInvariant();
        var index = 0;
        if (kind.Length == 0 || !kind.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9'))
            || (colon >= 0 && !int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out index)))
        {
            throw new FormatException($"'{text}' is not a device: write a kind and an optional index, e.g. 'cpu' or 'cuda:1'.");
        }

        return new Device(kind, index);
    }

    /// <summary>Whether both name the same device (the default value is <c>cpu</c>).</summary>
    public bool Equals(Device other) => Kind == other.Kind && Index == other.Index;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Kind, Index);

    /// <summary><c>cpu</c> for the host, <c>kind:index</c> otherwise.</summary>
    public override string ToString() => IsCpu && Index == 0 ? Kind : $"{Kind}:{Index.ToString(CultureInfo.InvariantCulture)}";
}
