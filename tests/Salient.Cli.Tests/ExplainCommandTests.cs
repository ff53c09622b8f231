using System.Text.Json;
using Salient.Engine.IO;
using Salient.Imaging;
using static Salient.Tests.TinyModels;

namespace Salient.Cli.Tests;

/// <summary><c>salient explain</c> end to end, in process: files, manifest lines, per-item errors and exit codes.</summary>
public sealed class ExplainCommandTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("salient-explain-");

    public void Dispose() => _work.Delete(true);

    [Fact]
    public void Every_format_is_written_and_listed_in_the_manifest()
    {
        var exit = Program.Main(["explain", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--method", "gradcam", "--target", "topk:2",
            "--format", "npy,png,overlay,mask,boxes", "--out", _work.FullName, Fixtures.Path("images")]);

        Assert.Equal(0, exit);
        var lines = Manifest();
        Assert.Equal(16, lines.Count);
        foreach (var line in lines)
        {
            Assert.Equal("gradcam", line.GetProperty("method").GetString());
            Assert.False(string.IsNullOrEmpty(line.GetProperty("layer").GetString()));
            Assert.False(string.IsNullOrEmpty(line.GetProperty("label").GetString()));
            var outputs = line.GetProperty("outputs");
            Assert.All(outputs.EnumerateObject(), o => Assert.StartsWith("items/", o.Value.GetString(), StringComparison.Ordinal));
            using (var map = Npy.Read(Path.Combine(_work.FullName, outputs.GetProperty("map").GetString()!)))
            {
                Assert.Equal([32, 32], map.ShapeArray());
            }

            using (var raw = Npy.Read(Path.Combine(_work.FullName, outputs.GetProperty("raw").GetString()!)))
            {
                Assert.Equal([8, 8], raw.ShapeArray());
            }

            foreach (var png in new[] { "png", "overlay", "mask" })
            {
                using var image = RgbImage.Load(Path.Combine(_work.FullName, outputs.GetProperty(png).GetString()!));
                Assert.Equal(32, image.Width);
            }

            Assert.True(File.Exists(Path.Combine(_work.FullName, outputs.GetProperty("boxes").GetString()!)));
            Assert.True(line.GetProperty("seconds").GetDouble() >= 0);
        }
    }

    [Fact]
    public void A_bad_input_gets_an_error_line_and_the_others_are_explained()
    {
        var truncated = Path.Combine(_work.FullName, "truncated.jpg");
        var good = Directory.GetFiles(Fixtures.Path("images"), "*.jpg").Order(StringComparer.Ordinal).First();
        File.WriteAllBytes(truncated, File.ReadAllBytes(good)[..200]);

        var exit = Program.Main(["explain", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--method", "tsgb", "--format", "npy",
            "--out", Path.Combine(_work.FullName, "out"), good, truncated]);

        Assert.Equal(2, exit);
        var lines = Manifest("out");
        Assert.Equal(2, lines.Count);
        Assert.True(lines[0].GetProperty("outputs").TryGetProperty("map", out _));
        Assert.Contains("truncated.jpg", lines[1].GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_map_with_nan_is_reported_for_its_item_not_written()
    {
        // TSGB-FC's β = P/|N| has no ε (tsgb.md §5.4): an all-zero input makes it 0/0.
        var model = Path.Combine(_work.FullName, "linear.onnx");
        WriteModel(model);
        var zeros = Path.Combine(_work.FullName, "zeros.npy");
        Npy.Write(zeros, new float[4], [1, 2, 2]);

        var exit = Program.Main(["explain", "--model", model, "--method", "tsgb", "--format", "npy", "--out", Path.Combine(_work.FullName, "out"), zeros]);

        Assert.Equal(2, exit);
        var line = Assert.Single(Manifest("out"));
        Assert.Contains("NaN", line.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.Combine(_work.FullName, "out"), "*.npy", SearchOption.AllDirectories));
    }

    [Fact]
    public void Targets_can_come_per_input_from_a_manifest()
    {
        var images = Directory.GetFiles(Fixtures.Path("images"), "*.png").Order(StringComparer.Ordinal).Take(2).ToArray();
        var manifest = Path.Combine(_work.FullName, "labels.jsonl");
        File.WriteAllLines(manifest, [$"{{\"input\": {JsonSerializer.Serialize(images[0])}, \"labels\": [2, 5]}}", $"{{\"input\": {JsonSerializer.Serialize(images[1])}, \"label\": 7}}"]);

        var exit = Program.Main(["explain", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--method", "layercam", "--format", "npy",
            "--target", "manifest:" + manifest, "--out", Path.Combine(_work.FullName, "out"), .. images]);

        Assert.Equal(0, exit);
        Assert.Equal([2, 5, 7], Manifest("out").Select(l => l.GetProperty("class").GetInt32()));
    }

    [Fact]
    public void A_contrast_target_is_named_apart_from_its_class()
    {
        var image = Directory.GetFiles(Fixtures.Path("images"), "*.png").Order(StringComparer.Ordinal).First();
        var exit = Program.Main(["explain", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--method", "gradient", "--format", "npy",
            "--target", "contrast:3,5", "--out", _work.FullName, image]);

        Assert.Equal(0, exit);
        var line = Assert.Single(Manifest());
        Assert.Equal(3, line.GetProperty("class").GetInt32());
        Assert.Equal("contrast:3,5", line.GetProperty("target").GetString());
        Assert.EndsWith("/gradient-c3-vs-5.npy", line.GetProperty("outputs").GetProperty("map").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_method_that_takes_no_contrast_target_exits_1_before_any_work()
    {
        var (exit, _, error) = Cli.Run(["explain", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--method", "occlusion", "--target", "contrast:3,5",
            "--out", _work.FullName, Fixtures.Path("images")]);
        Assert.Equal(1, exit);
        Assert.Contains("--target: 'contrast:3,5': contrast and weighted-sum targets", error, StringComparison.Ordinal);
        Assert.Contains("not 'occlusion'.", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_work.FullName, "manifest.jsonl")));
    }

    [Theory]
    [InlineData("occlusion", "window=16", "stride=16")]
    [InlineData("rise", "masks=8", "cell=8")]
    [InlineData("kernelshap", "samples=6", "cell=16")]
    [InlineData("fem", "k=1", "k=1.5")]
    public void A_methods_parameters_are_read_from_the_command_line(string method, string first, string second)
    {
        var image = Directory.GetFiles(Fixtures.Path("images"), "*.png").Order(StringComparer.Ordinal).First();
        var exit = Program.Main(["explain", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--method", method, "--format", "npy",
            "--param", first, "--param", second, "--seed", "4", "--out", _work.FullName, image]);

        Assert.Equal(0, exit);
        Assert.Equal(method, Assert.Single(Manifest()).GetProperty("method").GetString());
    }

    [Theory]
    [InlineData("occlusion", "windw=4", "'occlusion' takes window")]
    [InlineData("occlusion", "stride=99", "stride must be")]
    [InlineData("gradcam", "k=2", "takes no parameters")]
    [InlineData("rise", "masks", "NAME=NUMBER")]
    public void A_bad_parameter_exits_1_naming_it(string method, string parameter, string hint)
    {
        var (exit, _, error) = Cli.Run(["explain", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--method", method, "--param", parameter,
            "--out", _work.FullName, Fixtures.Path("images")]);
        Assert.Equal(1, exit);
        Assert.Contains(hint, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--method", "gradcram", "gradcam++")]
    [InlineData("--layer", "nope", "Valid layers")]
    [InlineData("--format", "jpeg", "valid formats")]
    [InlineData("--target", "best7", "topk:K")]
    [InlineData("--target", "weights:3=1,5=x", "--target: Target 'weights:3=1,5=x': 'x' is not a number")]
    public void Bad_options_exit_1_with_the_valid_choices(string option, string value, string hint)
    {
        string[] args = ["explain", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--out", _work.FullName, Fixtures.Path("images")];
        var (exit, _, error) = Cli.Run(option == "--method" ? [.. args, option, value] : [.. args, "--method", "gradcam", option, value]);
        Assert.Equal(1, exit);
        Assert.Contains(hint, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Shapleycam_after_a_step_without_a_second_order_rule_exits_1_before_any_item()
    {
        // A convolution, then an operator registered from outside the engine that has no second-order rule.
        var path = Path.Combine(_work.FullName, "gap.onnx");
        Load("shapley-gap", [1, 1, 8, 8],
            [Node("Conv", ["x", "w"], "c", Ints("pads", 1, 1, 1, 1)), Node(NoSecondOrderOp, ["c"], "d"), Node("GlobalAveragePool", ["d"], "p"), Node("Flatten", ["p"], "y")],
            [Floats("w", [2, 1, 3, 3], [.. Enumerable.Range(0, 18).Select(i => (i % 5) - 2f)])], "y", keepAt: path);

        var output = Path.Combine(_work.FullName, "out");
        var (exit, _, error) = Cli.Run(["explain", "--model", path, "--method", "shapleycam", "--layer", "c", "--out", output, Fixtures.Path("images")]);
        Assert.Equal(1, exit);
        Assert.Contains("shapleycam at layer 'c'", error, StringComparison.Ordinal);
        Assert.Contains($"{NoSecondOrderOp} node 'd': no second-order", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(output, "manifest.jsonl")));
    }

    private const string NoSecondOrderOp = "SalientCliTestCube";

    static ExplainCommandTests() => CubeOperator.Register(NoSecondOrderOp);

    private static void WriteModel(string path)
    {
        var loaded = Load("linear", [1, 1, 2, 2],
            [Node("Flatten", ["x"], "f"), Node("Gemm", ["f", "w"], "y", Int("transB", 1))],
            [Floats("w", [2, 4], .5f, -1, .25f, -.5f, 1, 1, -1, 0)], "y", keepAt: path);
        Assert.NotNull(loaded);
    }

    private List<JsonElement> Manifest(string folder = "") =>
        [.. File.ReadAllLines(Path.Combine(_work.FullName, folder, "manifest.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)];
}
