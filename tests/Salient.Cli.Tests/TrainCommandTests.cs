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
    public void A_multi_label_manifest_trains_and_reports_each_classs_validation_AP()
    {
        // Class 0: the bright half is the left one; class 1: it is the right one; class 2: every image.
        var manifest = Path.Combine(_work.FullName, "labels.jsonl");
        File.WriteAllLines(manifest, Directory.GetFiles(Dataset, "??.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => Path.GetRelativePath(_work.FullName, f).Replace('\\', '/'))
            .Select(image => $"{{\"image\": \"{image}\", \"labels\": [{(image.StartsWith("images/left/", StringComparison.Ordinal) ? 0 : 1)}, 2]}}"));
        var (exit, _, error) = Cli.Run(["train", "--dataset", manifest, "--arch", "small-cnn", "--size", "16", "--channels", "1", "--epochs", "1",
            "--batch", "8", "--no-flip", "--val-fraction", "0.25", "--out", ModelPath]);

        Assert.True(exit == 0, error);
        Assert.Contains("val-mAP", error, StringComparison.Ordinal);
        // Every validation image holds class 2, so its AP is exactly 1 whatever the scores.
        Assert.Matches(@"val AP per class: 0 ([01]\.\d{4}|n/a), 1 ([01]\.\d{4}|n/a), 2 1\.0000", error);
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

    [Fact]
    public void A_head_trains_on_a_frozen_backbones_cached_features_and_joins_it_again_with_the_same_logits()
    {
        const string At = "/layer1/layer1.0/relu_1/Relu_output_0";
        var backbone = Fixtures.Path("models", "resnet_basic.onnx");
        var (exit, _, error) = Cli.Run(["train", "--dataset", Dataset, "--size", "32", "--backbone", backbone, "--at", At, "--bgr",
            "--mean", "0.5,0.4,0.3", "--std", "0.2,0.25,0.3", "--epochs", "2", "--batch", "8", "--val-fraction", "0.25", "--out", ModelPath]);
        Assert.True(exit == 0, error);
        Assert.Contains("backbone features: 36/36 training images", error, StringComparison.Ordinal);
        Assert.Contains("epoch 2/2 std", error, StringComparison.Ordinal);
        var card = ModelCard.Load(Path.ChangeExtension(ModelPath, ".json"));
        Assert.Equal([0.5f, 0.4f, 0.3f], card.Mean);
        Assert.Equal([0.2f, 0.25f, 0.3f], card.Std);
        Assert.Equal(32, card.Height);

        var head = Path.Combine(_work.FullName, "head.onnx");
        var joined = Path.Combine(_work.FullName, "joined.onnx");
        (exit, _, error) = Cli.Run(["onnx", "head", "--model", ModelPath, "--at", At, "--out", head]);
        Assert.True(exit == 0, error);
        Assert.True(new FileInfo(head).Length < new FileInfo(ModelPath).Length / 2);
        (exit, _, error) = Cli.Run(["onnx", "join", "--backbone", backbone, "--at", At, "--bgr", "--head", head, "--out", joined]);
        Assert.True(exit == 0, error);

        // The joined model is the trained one; its backbone is the original, fed the channels in reverse order.
        var random = new Random(3);
        using var input = Engine.Tensor.Zeros(2, 3, 32, 32);
        using var reversed = Engine.Tensor.Zeros(2, 3, 32, 32);
        for (var i = 0; i < input.Length; i++)
        {
            input.Span[i] = (float)random.NextDouble();
        }

        for (var i = 0; i < input.Length; i++)
        {
            var (b, c, p) = (i / (3 * 1024), i / 1024 % 3, i % 1024);
            reversed.Span[(((b * 3) + (2 - c)) * 1024) + p] = input.Span[i];
        }

        var trained = Engine.Model.Load(ModelPath).Forward(input, [At, "logits"]);
        var again = Engine.Model.Load(joined).Forward(input, [At, "logits"]);
        var original = Engine.Model.Load(backbone).Forward(reversed, [At]);
        Assert.Equal(trained["logits"].Span.ToArray(), again["logits"].Span.ToArray());
        // Up to float rounding: the reversed weights sum the channels in the other order.
        var (expected, actual) = (original[At].Span.ToArray(), trained[At].Span.ToArray());
        Assert.Equal(expected.Length, actual.Length);
        Assert.All(expected.Zip(actual), p => Assert.Equal(p.First, p.Second, 1e-5f * Math.Max(1, Math.Abs(p.First))));

        // A head stored in half precision is about half the file and joins to nearly the same logits.
        var halfHead = Path.Combine(_work.FullName, "head-half.onnx");
        (exit, _, error) = Cli.Run(["onnx", "head", "--model", ModelPath, "--at", At, "--half", "--out", halfHead]);
        Assert.True(exit == 0, error);
        Assert.InRange(new FileInfo(halfHead).Length, new FileInfo(head).Length * 0.4, new FileInfo(head).Length * 0.6);
        (exit, _, error) = Cli.Run(["onnx", "join", "--backbone", backbone, "--at", At, "--bgr", "--head", halfHead, "--out", joined]);
        Assert.True(exit == 0, error);
        var rounded = Engine.Model.Load(joined);
        Assert.DoesNotContain(rounded.Graph.Nodes, n => n.OpType == "Cast");
        var (logits, roundedLogits) = (trained["logits"].Span.ToArray(), rounded.Forward(input, ["logits"])["logits"].Span.ToArray());
        Assert.All(logits.Zip(roundedLogits), p => Assert.Equal(p.First, p.Second, 1e-2f * Math.Max(1, Math.Abs(p.First))));
    }

    [Fact]
    public void With_online_features_the_backbone_runs_on_every_batch_and_a_resumed_run_continues()
    {
        const string At = "/layer1/layer1.0/relu_1/Relu_output_0";
        var backbone = Fixtures.Path("models", "resnet_basic.onnx");
        string[] arguments = ["train", "--dataset", Dataset, "--size", "32", "--backbone", backbone, "--at", At, "--online-features",
            "--mean", "0.5,0.4,0.3", "--std", "0.2,0.25,0.3", "--batch", "8", "--val-fraction", "0.25", "--out", ModelPath];
        var (exit, _, error) = Cli.Run([.. arguments, "--epochs", "1"]);
        Assert.True(exit == 0, error);
        Assert.Contains("backbone features: computed for every batch", error, StringComparison.Ordinal);
        Assert.DoesNotContain("training images,", error, StringComparison.Ordinal);
        Assert.Contains("epoch 1/1 std", error, StringComparison.Ordinal);

        (exit, _, error) = Cli.Run([.. arguments, "--epochs", "2", "--resume", Path.ChangeExtension(ModelPath, ".ckpt")]);
        Assert.True(exit == 0, error);
        Assert.Contains("epoch 2/2 std", error, StringComparison.Ordinal);
        Assert.DoesNotContain("epoch 1/2", error, StringComparison.Ordinal);

        // The written model is the whole network: the backbone's values are in it, and the head cuts off it.
        var model = Engine.Model.Load(ModelPath);
        using var input = Engine.Tensor.Zeros(1, 3, 32, 32);
        var values = model.Forward(input, [At, "logits"]);
        Assert.Equal([1, 2], values["logits"].Shape.ToArray());
        (exit, _, error) = Cli.Run(["onnx", "head", "--model", ModelPath, "--at", At, "--out", Path.Combine(_work.FullName, "head.onnx")]);
        Assert.True(exit == 0, error);
    }

    [Fact]
    public void Bad_backbone_options_exit_1_saying_why()
    {
        var backbone = Fixtures.Path("models", "resnet_basic.onnx");
        var (exit, _, error) = Cli.Run(["train", "--dataset", Dataset, "--size", "32", "--backbone", backbone, "--out", ModelPath]);
        Assert.Equal(1, exit);
        Assert.Contains("--at", error, StringComparison.Ordinal);

        (exit, _, error) = Cli.Run(["train", "--dataset", Dataset, "--size", "32", "--backbone", backbone, "--at", "nowhere", "--out", ModelPath]);
        Assert.Equal(1, exit);
        Assert.Contains("'nowhere'", error, StringComparison.Ordinal);

        (exit, _, error) = Cli.Run(["train", "--dataset", Dataset, "--size", "32", "--mean", "0.5,0.5", "--std", "1,1,1", "--out", ModelPath]);
        Assert.Equal(1, exit);
        Assert.Contains("--mean needs 3 values", error, StringComparison.Ordinal);
    }
}
