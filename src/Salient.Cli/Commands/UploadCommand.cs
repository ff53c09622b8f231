using System.CommandLine;
using Salient.Storage;

namespace Salient.Cli.Commands;

/// <summary><c>salient upload</c>: copy a folder of inputs (a dataset) into the cluster's blob store under a prefix.</summary>
internal static class UploadCommand
{
    private const int Parallelism = 8;

    public static Command Create()
    {
        var folder = new Argument<DirectoryInfo>("FOLDER") { Description = "The folder to upload; every file under it, recursively." };
        var prefix = new Option<string>("--to") { Description = "The blob prefix the files land under, e.g. datasets/demo/ (FOLDER/a/b.png becomes datasets/demo/a/b.png).", Required = true };
        var blob = new Option<string?>("--blob")
        {
            Description = "The blob store, as `salient serve --blob` takes it (env SALIENT_BLOB).",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("SALIENT_BLOB"),
        };
        var command = new Command("upload", "Copy a folder (a dataset, a manifest and its masks) into the cluster's blob store.") { folder, prefix, blob };
        command.SetAction((r, ct) => RunAsync(r.GetValue(folder)!, r.GetValue(prefix)!, r.GetValue(blob), ct));
        return command;
    }

    /// <summary>Exit code 0 when every file was uploaded, 1 for a bad folder, prefix or store, or a failed upload.</summary>
    private static async Task<int> RunAsync(DirectoryInfo folder, string prefix, string? location, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(location))
        {
            await Console.Error.WriteLineAsync("error: give the blob store with --blob or SALIENT_BLOB (deploy/cluster.sh's DIR/env sets it).").ConfigureAwait(false);
            return 1;
        }

        if (!folder.Exists)
        {
            await Console.Error.WriteLineAsync($"error: folder '{folder.FullName}' does not exist.").ConfigureAwait(false);
            return 1;
        }

        var files = folder.EnumerateFiles("*", SearchOption.AllDirectories).OrderBy(f => f.FullName, StringComparer.Ordinal).ToList();
        prefix = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
        var names = files.Select(f => prefix + Path.GetRelativePath(folder.FullName, f.FullName).Replace(Path.DirectorySeparatorChar, '/')).ToList();
        if (names.Select(BlobStore.NameProblem).FirstOrDefault(p => p is not null) is { } problem)
        {
            await Console.Error.WriteLineAsync($"error: --to '{prefix}': {problem}").ConfigureAwait(false);
            return 1;
        }

        try
        {
            var store = BlobStore.Open(location);
            await Parallel.ForEachAsync(Enumerable.Range(0, files.Count), new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct }, async (i, token) =>
                await store.PutAsync(names[i], await File.ReadAllBytesAsync(files[i].FullName, token).ConfigureAwait(false), null, overwrite: true, token).ConfigureAwait(false))
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException or BlobStoreException or HttpRequestException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        Console.WriteLine($"{files.Count} files uploaded under {prefix}");
        return 0;
    }
}
