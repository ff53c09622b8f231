using System.CommandLine;
using Salient.Imaging.Datasets;

namespace Salient.Cli.Commands;

/// <summary><c>salient scenes</c>: write a seeded set of Fashion-MNIST localization scenes with masks, boxes and a manifest.</summary>
internal static class ScenesCommand
{
    public static Command Create()
    {
        var count = new Option<int>("--count") { Description = "How many scenes.", Required = true };
        count.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() <= 0)
            {
                r.AddError("--count must be a positive number.");
            }
        });
        var seed = new Option<int>("--seed") { Description = "Selects the scenes; the same seed gives identical files.", DefaultValueFactory = _ => 0 };
        var size = new Option<int>("--size") { Description = "Canvas side in pixels (at least 32).", DefaultValueFactory = _ => 96 };
        size.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 32)
            {
                r.AddError("--size must be at least 32.");
            }
        });
        var split = new Option<string>("--split") { Description = "The Fashion-MNIST split the items come from.", DefaultValueFactory = _ => "train" };
        split.AcceptOnlyFromAmong("train", "test");
        var maxObjects = new Option<int>("--max-objects") { Description = "At most this many objects (of different classes) per scene, 1–10.", DefaultValueFactory = _ => 3 };
        maxObjects.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 10)
            {
                r.AddError("--max-objects must be between 1 and 10.");
            }
        });
        var datasetDir = new Option<DirectoryInfo>("--dataset-dir") { Description = "The folder of Fashion-MNIST IDX files.", DefaultValueFactory = _ => new DirectoryInfo(FashionMnist.DefaultDirectory) };
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for images/, masks/ and manifest.jsonl (created if missing).", Required = true };

        var command = new Command("scenes", "Write Fashion-MNIST scenes: DIR/images, DIR/masks and DIR/manifest.jsonl.") { count, seed, size, split, maxObjects, datasetDir, output };
        command.SetAction(result => Run(
            result.GetValue(datasetDir)!,
            result.GetValue(split)!,
            new Settings(result.GetValue(count), result.GetValue(seed), result.GetValue(size), result.GetValue(maxObjects)),
            result.GetValue(output)!));
        return command;
    }

    /// <summary>Exit code 0 when every scene was written, 1 when the dataset is missing or unreadable or the output cannot be written.</summary>
    private static int Run(DirectoryInfo datasetDir, string split, Settings settings, DirectoryInfo outDir)
    {
        FashionMnist items;
        try
        {
            items = FashionMnist.Load(split, datasetDir.FullName);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }

        var generator = new SceneGenerator(items, settings.Seed, settings.Size, settings.MaxObjects);
        try
        {
            Progress.Run("scenes", settings.Count, report =>
                SceneWriter.Write(outDir.FullName, generator, settings.Count, done =>
                {
                    // One report per hundred scenes keeps the plain (CI) output short.
                    if (done % 100 == 0 || done == settings.Count)
                    {
                        report(done, 0);
                    }
                }));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: cannot write {outDir.FullName}: {e.Message}");
            return 1;
        }

        Console.WriteLine($"{settings.Count} scenes from the {split} split written to {outDir.FullName}");
        return 0;
    }

    private readonly record struct Settings(int Count, int Seed, int Size, int MaxObjects);
}
