namespace Salient.Cli;

/// <summary>Expands the INPUT arguments of a command into the list of items to process.</summary>
internal static class InputFiles
{
    private static readonly HashSet<string> Extensions = new(StringComparer.OrdinalIgnoreCase) { ".jpg", ".jpeg", ".png", ".npy" };

    /// <summary>
    /// Files as given, folders walked recursively for images and .npy tensors (sorted, so runs are
    /// reproducible). A path that does not exist stays in the list, to be reported as a failed item.
    /// </summary>
    public static List<string> Expand(IEnumerable<string> arguments)
    {
        var items = new List<string>();
        foreach (var argument in arguments)
        {
            if (Directory.Exists(argument))
            {
                items.AddRange(Directory
                    .EnumerateFiles(argument, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
                    .Where(f => Extensions.Contains(Path.GetExtension(f)))
                    .Order(StringComparer.Ordinal));
            }
            else
            {
                items.Add(argument);
            }
        }

        return items;
    }
}
