using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Salient.Cluster;

/// <summary>The registry of job kinds by name: the built-in three, and any a host adds with <see cref="Register"/> before its silo starts.</summary>
public static class JobKinds
{
    private static readonly ConcurrentDictionary<string, JobKind> s_kinds = new(StringComparer.Ordinal);

    static JobKinds()
    {
        Register(new ExplainJobKind());
        Register(new EvalJobKind());
        Register(new PwlaJobKind());
    }

    /// <summary>The names of the registered kinds, in order.</summary>
    public static IReadOnlyList<string> Names => [.. s_kinds.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Registers <paramref name="kind"/> under its name.</summary>
    /// <exception cref="InvalidOperationException">A kind of that name is registered already.</exception>
    public static void Register(JobKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        if (!s_kinds.TryAdd(kind.Name, kind))
        {
            throw new InvalidOperationException($"A job kind named '{kind.Name}' is registered already.");
        }
    }

    /// <summary>The kind named <paramref name="name"/>, if one is registered.</summary>
    public static bool TryGet(string? name, [NotNullWhen(true)] out JobKind? kind)
    {
        kind = null;
        return name is not null && s_kinds.TryGetValue(name, out kind);
    }

    /// <summary>The kind named <paramref name="name"/>.</summary>
    /// <exception cref="InvalidDataException">No kind of that name is registered (the message lists those that are).</exception>
    public static JobKind Get(string? name) =>
        TryGet(name, out var kind) ? kind : throw new InvalidDataException($"Unknown job kind '{name}': this build knows {string.Join(", ", Names)}.");
}
