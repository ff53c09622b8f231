using Salient.Client;
using Salient.Cluster.Coordinator;
using Salient.Methods;
using Salient.Methods.Pipeline;
using Salient.Storage;

namespace Salient.Cluster.Internal;

/// <summary>Checks of a submission's fields that several job kinds share; each returns the first problem, naming the field, or null.</summary>
internal static class SubmissionChecks
{
    /// <summary>
    /// The first problem of an inline item list: too many items, an empty one, or a blob name the store
    /// would refuse (<paramref name="isBlob"/> tells which items name blobs), naming the item.
    /// </summary>
    public static string? ItemsProblem(IReadOnlyList<string> items, Func<string, bool> isBlob)
    {
        if (items.Count > CoordinatorApi.MaxInlineItems)
        {
            return $"inputs.items: {items.Count} items; a request lists at most {CoordinatorApi.MaxInlineItems} inline. Put longer lists in a manifest blob (inputs.manifest, one {{\"image\": \"NAME\"}} per line).";
        }

        for (var i = 0; i < items.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(items[i]))
            {
                return $"inputs.items[{i}]: item names must not be empty.";
            }

            if (isBlob(items[i]) && BlobStore.NameProblem(items[i]) is { } problem)
            {
                return $"inputs.items[{i}]: {problem}";
            }
        }

        return null;
    }

    /// <summary>The problem of the methods, targets, layers, denoising and parameters, by the parser the CLI uses.</summary>
    public static string? PipelineProblem(JobSubmission job)
    {
        try
        {
            _ = JobSpecs.PipelineOptionsOf(job);
            return null;
        }
        catch (ArgumentException e)
        {
            return e.Message;
        }
    }

    /// <summary>The problem of the output kinds asked for.</summary>
    public static string? OutputsProblem(IReadOnlyList<string>? outputs)
    {
        try
        {
            _ = RenderOptions.Create(outputs ?? []);
            return null;
        }
        catch (ArgumentException e)
        {
            return $"outputs: {e.Message}";
        }
    }
}
