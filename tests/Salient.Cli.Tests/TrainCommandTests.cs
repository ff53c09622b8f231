using Salient.Imaging;

namespace Salient.Cli.Tests;

/// <summary><c>salient train</c> and <c>salient csg analyze</c> end to end, in process, on an image folder the test writes.</summary>
public sealed class TrainCommandTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("salient-train-");

    public TrainCommandTests()
    {
        // Two classes: the bright half of a 16×16 image is the left or the right one.
        var random = new Random(1);
        foreach (var (name, left) in new[] { ("left", true), ("right", false) })
        {
            Directory.CreateDirectory(Path.Combine(Dataset, name));
            for (var i = 0; i < 24; i++)
            {
                var pixels = new byte[16 * 16 * 3];
                for (var p = 0; p < 16 * 16; p++)
                {
                    var bright = (p % 16 < 8) == left;
                    pixels.AsSpan(p * 3, 3).Fill((byte)((bright ? 180 : 40) + random.Next(40)));
                }

                PngEncoder.Write(Path.Combine(Dataset, name, $"{i:D2}.png"), pixels, 16, 16, PngColorType.Rgb);
            }
        }

        File.WriteAllText(Path.Combine(Dataset, "left", "broken.png"), "not a png");
    }

    private string Dataset => Path.Combine(_work.FullName, "images");

    private string ModelPath => Path.Combine(_work.FullName, "out", "model.onnx");

    public void Dispose() => _work.Delete(true);

    [Fact]
    public void Trains_on_a_folder_skipping_unreadable_images_writes_model_card_and_checkpoint_and_resumes()
    {
        var (exit, _, error) = Cli.Run(["train", "--dataset", Dataset, "--arch", "small-cnn", "--size", "16", "--channels", "1", "--epochs", "2",
            "--batch", "8", "--lr", "0.01", "--no-flip", "--val-fraction", "0.25", "--out", ModelPath]);

        Assert.True(exit == 0, error);
        Assert.Contains("broken.png", error, StringComparison.Ordinal);
        Assert.Contains("epoch 2/2 std", error, StringComparison.Ordinal);
        var card = ModelCard.Load(Path.ChangeExtension(ModelPath, ".json"));
        Assert.Equal(["left", "right"], card.Labels);
        Assert.False(card.MultiLabel);
        Assert.Equal(1, card.Channels);
        Assert.Contains("salient.training", Engine.Model.Load(ModelPath).Metadata.Keys);

        var checkpoint = Path.ChangeExtension(ModelPath, ".ckpt");
        (exit, _, error) = Cli.Run(["train", "--dataset", Dataset, "--arch", "small-cnn", "--size", "16", "--channels", "1", "--epochs", "3",
            "--batch", "8", "--lr", "0.01", "--no-flip", "--val-fraction", "0.25", "--resume", checkpoint, "--out", ModelPath]);
        Assert.True(exit == 0, error);
        Assert.Contains("epoch 3/3", error, StringComparison.Ordinal);
        Assert.DoesNotContain("epoch 1/3", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Csg_training_stores_a_gate_that_csg_analyze_reports()
    {
        var (exit, _, error) = Cli.Run(["train", "--dataset", Dataset, "--arch", "small-cnn", "--size", "16", "--channels", "1", "--epochs", "3",
            "--batch", "8", "--no-flip", "--csg", "--csg-warmup", "1", "--csg-period", "2", "--csg-phase", "1", "--out", ModelPath]);
        Assert.True(exit == 0, error);
        Assert.Contains("epoch 2/3 csg", error, StringComparison.Ordinal);

        string output;
        (exit, output, error) = Cli.Run(["csg", "analyze", "--model", ModelPath, "--dataset", Dataset, "--out", Path.Combine(_work.FullName, "csg.json")]);
        Assert.True(exit == 0, error);
        Assert.Contains("MIS", output, StringComparison.Ordinal);
        Assert.Contains("gate density", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(_work.FullName, "csg.json")));
    }

    [Fact]
    public void Csg_on_a_model_without_a_pooling_head_and_a_missing_dataset_exit_1_saying_why()
    {
        var (exit, _, error) = Cli.Run(["train", "--dataset", Dataset, "--arch", Fixtures.Path("models", "ops_mix.onnx"), "--csg", "--size", "32", "--out", ModelPath]);
        Assert.Equal(1, exit);
        Assert.Contains("GlobalAveragePool → Linear", error, StringComparison.Ordinal);

        (exit, _, error) = Cli.Run(["train", "--dataset", Path.Combine(_work.FullName, "absent"), "--out", ModelPath]);
        Assert.Equal(1, exit);
        Assert.Contains("absent", error, StringComparison.Ordinal);
    }
}
