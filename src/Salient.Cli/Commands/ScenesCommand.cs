using System.CommandLine;
using Salient.Imaging.Datasets;

namespace Salient.Cli.Commands;

/// <summary><c>salient scenes</c>: write a seeded set of Fashion-MNIST localization scenes with masks, boxes and a manifest.</summary>
internal static class ScenesCommand
{
    public static Command Create()
    {
        var count = new Option<int>("--count") { Description = "How many scenes.", Required = true };
        count.Validators.Add(r => Positive(r, "--count"));
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

    /// <summary>Exit code 0 when every scene was written, 1 when the dataset is missing or unreadable.</summary>
    private static int Run(DirectoryInfo datasetDir, string split, Settings settings, DirectoryInfo outDir)
    {
        FashionMnist items;
        try
        {
            items = FashionMnist.Load(split, datasetDir.FullName);
        }
        catch (Exception e) when (e is IOException or InvalidDataException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }

        var generator = new SceneGenerator(items, settings.Seed, settings.Size, settings.MaxObjects);
        Progress.Run("scenes", settings.Count, report =>
            SceneWriter.Write(outDir.FullName, generator, settings.Count, done =>
            {
                // One report per hundred scenes keeps the plain (CI) output short.
                if (done % 100 == 0 || done == settings.Count)
                {
                    report(done, 0);
                }
            }));
        Console.WriteLine($"{settings.Count} scenes from the {split} split written to {outDir.FullName}");
        return 0;
    }

    private static void Positive(System.CommandLine.Parsing.OptionResult result, string name)
    {
        if (result.GetValueOrDefault<int>() <= 0)
        {
            result.AddError($"{name} must be a positive number.");
        }
    }

    private readonly record struct Settings(int Count, int Seed, int Size, int MaxObjects);
}
