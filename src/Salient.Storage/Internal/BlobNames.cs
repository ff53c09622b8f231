namespace Salient.Storage.Internal;

/// <summary>
/// The one rule set for blob names and list prefixes, so a name valid in one store is valid in all
/// and none can climb out of a local folder.
/// </summary>
internal static class BlobNames
{
    /// <summary>Azure's limit on a blob name, in characters.</summary>
    private const int MaxLength = 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming <paramref name="name"/> when it is not a valid blob name.</summary>
    internal static void Validate(string name)
    {
        if (NameProblem(name) is { } problem)
        {
            throw new ArgumentException(problem, nameof(name));
        }
    }

    /// <summary>Why <paramref name="name"/> is not a valid blob name, naming it; null when it is valid.</summary>
    internal static string? NameProblem(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var problem = name.Length == 0 ? "it is empty" : Problem(name, allowTrailingSlash: false);
        return problem is null ? null : $"Blob name '{name}' is not allowed: {problem}.";
    }

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="prefix"/> cannot start any valid name.</summary>
    internal static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var problem = prefix.Length == 0 ? null : Problem(prefix, allowTrailingSlash: true);
        if (problem is not null)
        {
            throw new ArgumentException($"Blob prefix '{prefix}' is not allowed: {problem}.", nameof(prefix));
        }
    }

    /// <summary>The segments of a validated name or prefix.</summary>
    internal static string[] Segments(string name) => name.Split('/', StringSplitOptions.RemoveEmptyEntries);

    private static string? Problem(string name, bool allowTrailingSlash)
    {
        if (name.Length > MaxLength)
        {
            return $"it is longer than {MaxLength} characters";
        }

        if (name.Any(c => c == '\\' || char.IsControl(c)))
        {
            return "it contains a backslash or a control character";
        }

        if (name[0] == '/')
        {
            return "it starts with '/'";
        }

        var segments = name.Split('/');
        var last = allowTrailingSlash && name[^1] == '/' ? segments.Length - 1 : segments.Length;
        for (var i = 0; i < last; i++)
        {
            if (segments[i].Length == 0)
            {
                return "it has an empty segment ('//' or a trailing '/')";
            }

            if (segments[i] is "." or "..")
            {
                return $"segment '{segments[i]}' would leave the folder it names";
            }
        }

        return null;
    }
}
