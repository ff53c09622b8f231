using Salient.Imaging.Datasets;

namespace Salient.Cli;

/// <summary>
/// The datasets <c>--dataset</c> names: <c>fashion-mnist</c> (train split; validation on the test
/// split), <c>scenes</c> (generated from the train split's items; validation scenes from the test
/// split's), or a path (a class-per-subfolder folder or a JSONL manifest, split at random).
/// </summary>
internal sealed record TrainingData(LabeledImageSet Train, LabeledImageSet Validation, string Description)
{
    public sealed record Settings(string Dataset, string? FashionMnistDir, int TrainCount, int ValidationCount, double ValidationFraction,
        int Size, int Channels, int Seed);

    /// <summary>Opens the dataset; throws <see cref="IOException"/> or <see cref="InvalidDataException"/> naming the input when it cannot.</summary>
    public static TrainingData Open(Settings s)
    {
        switch (s.Dataset)
        {
            case "fashion-mnist":
            {
                var train = Take(new FashionMnistImages(FashionMnist.Load("train", s.FashionMnistDir)), s.TrainCount);
                var validation = Take(new FashionMnistImages(FashionMnist.Load("test", s.FashionMnistDir)), s.ValidationCount);
                return new(train, validation, $"Fashion-MNIST: {train.Count} training images, {validation.Count} test images");
            }

            case "scenes":
            {
                var trainCount = s.TrainCount > 0 ? s.TrainCount : 6000;
                var validationCount = s.ValidationCount > 0 ? s.ValidationCount : 1000;
                var train = new SceneImages(new SceneGenerator(FashionMnist.Load("train", s.FashionMnistDir), s.Seed, s.Size), 0, trainCount);
                var validation = new SceneImages(new SceneGenerator(FashionMnist.Load("test", s.FashionMnistDir), s.Seed, s.Size), 0, validationCount);
                return new(train, validation, $"scenes {s.Size}x{s.Size} (seed {s.Seed}): {trainCount} training scenes from the train items, {validationCount} validation scenes from the test items");
            }

            default:
            {
                var all = ImageFolderSet.Open(s.Dataset, s.Channels, s.Size, s.Size);
                var (train, validation) = ImageSubset.Split(all, s.ValidationFraction, s.Seed);
                var skipped = all.Skipped.Count > 0 ? $"; {all.Skipped.Count} unreadable image(s) skipped" : string.Empty;
                return new(Take(train, s.TrainCount), validation, $"{s.Dataset}: {train.Count} training and {validation.Count} validation images{skipped}") { Skipped = all.Skipped };
            }
        }
    }

    /// <summary>Inputs left out because they could not be read.</summary>
    public IReadOnlyList<string> Skipped { get; init; } = [];

    private static LabeledImageSet Take(LabeledImageSet set, int count) =>
        count > 0 && count < set.Count ? new ImageSubset(set, Enumerable.Range(0, count)) : set;
}
