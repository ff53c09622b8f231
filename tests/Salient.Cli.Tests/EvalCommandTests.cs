using System.Text.Json;
using Salient.Imaging;
using Salient.Methods.Metrics;

namespace Salient.Cli.Tests;

/// <summary><c>salient eval</c> end to end, in process, on a hand-written manifest over the fixture images with rectangle masks.</summary>
public sealed class EvalCommandTests : IDisposable
{
    private static readonly string[] Fast = ["--steps", "4", "--road-percentages", "30,70", "--sanity-steps", "2", "--batch", "2"];

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("salient-eval-");

    public void Dispose() => _work.Delete(true);

    [Fact]
    public void Writes_items_metrics_and_a_report_whose_accumulator_reproduces_the_summary()
    {
        var manifest = Manifest(("dress.png", [(3, "left"), (1, "right")]), ("sandal.png", [(5, "left")]), ("trouser.png", [(1, "right")]));
        var report = Path.Combine(_work.FullName, "report");

        var exit = Eval(["--methods", "gradcam,gradient", "--dataset", manifest, "--out", report, .. Fast]);

        Assert.Equal(0, exit);
        var lines = File.ReadAllLines(Path.Combine(report, "items.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(8, lines.Count); // one per item × method × target: dress has two targets
        var dress = lines.Where(l => l.GetProperty("method").GetString() == "gradcam" && l.GetProperty("item").GetString()!.EndsWith("dress.png", StringComparison.Ordinal)).ToList();
        Assert.Equal(["Dress", "Trouser"], dress.Select(t => t.GetProperty("label").GetString()));
        Assert.True(dress[0].GetProperty("metrics").TryGetProperty("selectivity", out _));
        Assert.True(dress[0].GetProperty("metrics").TryGetProperty("miou", out _));
        Assert.False(string.IsNullOrEmpty(dress[0].GetProperty("layer").GetString()));

        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "metrics.json")));
        var accumulator = MetricAccumulator.FromJson(metrics.RootElement.GetProperty("accumulator").GetRawText());
        var gradcam = metrics.RootElement.GetProperty("methods").GetProperty("gradcam");
        Assert.Equal(3, gradcam.GetProperty("items").GetInt64());
        Assert.Equal(accumulator.Summarize("gradcam").Scalars["deletion"].Mean, gradcam.GetProperty("scalars").GetProperty("deletion").GetProperty("mean").GetDouble());
        Assert.Equal(4, accumulator.Summarize("gradcam").Scalars["deletion"].Count);
        Assert.Equal(2, accumulator.Summarize("gradient").Scalars["selectivity"].Count);

        foreach (var png in new[] { "deletion.png", "insertion.png", "road.png", "sanity.png", "bars.png", "examples.png" })
        {
            using var image = RgbImage.Load(Path.Combine(report, png));
            Assert.True(image.Width > 100, png);
        }

        var markdown = File.ReadAllText(Path.Combine(report, "report.md"));
        Assert.Contains("| gradcam |", markdown, StringComparison.Ordinal);
        Assert.Contains("mIoU", markdown, StringComparison.Ordinal);
        Assert.Contains("<img src=\"examples.png\"", File.ReadAllText(Path.Combine(report, "report.html")), StringComparison.Ordinal);

        // Each example names the item's true classes next to the model's prediction (softmax: its top class).
        Assert.Matches(@"`[^`]*dress\.png`: true Dress, Trouser; predicted [^ ]+ \(\d\.\d\d\); maps of Dress", markdown);
    }

    [Fact]
    public void A_broken_image_or_missing_mask_is_an_error_line_and_the_other_items_still_count()
    {
        var broken = Path.Combine(_work.FullName, "broken.png");
        File.WriteAllBytes(broken, File.ReadAllBytes(Fixtures.Path("images", "dress.png"))[..100]);
        var manifest = Manifest(("dress.png", [(3, "left")]), (broken, []), ("sandal.png", [(5, "missing")]), ("trouser.png", []));
        var report = Path.Combine(_work.FullName, "report");

        var exit = Eval(["--methods", "gradcam", "--dataset", manifest, "--out", report, "--metrics", "deletion,pointing,miou", "--limit", "4", .. Fast]);

        Assert.Equal(2, exit);
        var lines = File.ReadAllLines(Path.Combine(report, "items.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(4, lines.Count);
        Assert.Contains(broken, lines.Single(l => l.GetProperty("item").GetString() == broken).GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("missing", lines.Single(l => l.GetProperty("item").GetString()!.EndsWith("sandal.png", StringComparison.Ordinal)).GetProperty("error").GetString(), StringComparison.Ordinal);
        using var metrics = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "metrics.json")));
        var summary = MetricAccumulator.FromJson(metrics.RootElement.GetProperty("accumulator").GetRawText()).Summarize("gradcam");
        Assert.Equal((4L, 2L), (summary.Items, summary.Errors));
        Assert.Equal(2, summary.Scalars["deletion"].Count); // dress (its class) and trouser (top-1, no masks)
        Assert.Equal(1, summary.Scalars["pointing"].Count);
    }

    [Fact]
    public void Methods_with_parameters_are_evaluated_each_with_its_own()
    {
        var manifest = Manifest(("dress.png", [(3, "left")]));
        var report = Path.Combine(_work.FullName, "report");

        var exit = Eval(["--methods", "fem,occlusion,shapley-sampling", "--param", "window=16", "--param", "permutations=2", "--param", "cell=16",
            "--dataset", manifest, "--out", report, "--metrics", "deletion", .. Fast]);

        Assert.Equal(0, exit);
        var methods = File.ReadAllLines(Path.Combine(report, "items.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("method").GetString());
        Assert.Equal(["fem", "occlusion", "shapley-sampling"], methods.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Seed_seeds_the_sampling_methods()
    {
        var manifest = Manifest(("dress.png", [(3, "left")]));
        string[] Scores(string seed, string name)
        {
            var report = Path.Combine(_work.FullName, name);
            Assert.Equal(0, Eval(["--methods", "randomcam", "--seed", seed, "--dataset", manifest, "--out", report, "--metrics", "deletion", .. Fast]));
            return File.ReadAllLines(Path.Combine(report, "items.jsonl"));
        }

        var first = Scores("1", "first");
        Assert.Equal(first, Scores("1", "again"));
        Assert.NotEqual(first, Scores("2", "other"));
    }

    [Theory]
    [InlineData("--methods", "gradcma", "Valid methods")]
    [InlineData("--metrics", "deletoin", "Valid metrics")]
    [InlineData("--road-percentages", "10,x", "'x'")]
    [InlineData("--dataset", "absent.jsonl", "absent.jsonl")]
    [InlineData("--dataset", "bad.jsonl", "line 2")]
    [InlineData("--batch", "0", "--batch")]
    [InlineData("--param", "window=4", "none of gradcam has a parameter 'window'")]
    [InlineData("--param", "window", "NAME=NUMBER")]
    public void A_bad_command_exits_1_naming_the_input(string option, string value, string expected)
    {
        File.WriteAllLines(Path.Combine(_work.FullName, "bad.jsonl"), ["""{"image": "a.png"}""", """{"labels": [1]}"""]);
        var arguments = new Dictionary<string, string>
        {
            ["--methods"] = "gradcam",
            ["--metrics"] = "deletion",
            ["--dataset"] = Manifest(("dress.png", [])),
            ["--out"] = Path.Combine(_work.FullName, "report"),
            [option] = option == "--dataset" ? Path.Combine(_work.FullName, value) : value,
        };
        var (exit, _, error) = Cli.Capture(() => Eval([.. arguments.SelectMany(kv => new[] { kv.Key, kv.Value })]));
        Assert.Equal(1, exit);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    private static int Eval(string[] arguments) => Program.Main(["eval", "--model", Fixtures.Path("models", "resnet_basic.onnx"), .. arguments]);

    /// <summary>
    /// Writes manifest.jsonl for fixture images (or absolute paths), each object a class and a mask covering the
    /// image's left or right half ("missing": a mask file that does not exist).
    /// </summary>
    private string Manifest(params (string Image, (int Class, string Side)[] Objects)[] items)
    {
        var lines = new List<string>();
        foreach (var (name, objects) in items)
        {
            var image = Path.IsPathRooted(name) ? name : Fixtures.Path("images", name);
            var entries = new List<object>();
            foreach (var (c, side) in objects)
            {
                var mask = $"{Path.GetFileNameWithoutExtension(image)}_{c}_{side}.png";
                if (side != "missing")
                {
                    using var picture = RgbImage.Load(image);
                    var pixels = Enumerable.Range(0, picture.Width * picture.Height).Select(p => p % picture.Width < picture.Width / 2 == (side == "left") ? (byte)255 : (byte)0).ToArray();
                    PngEncoder.Write(Path.Combine(_work.FullName, mask), pixels, picture.Width, picture.Height, PngColorType.Gray);
                }

                entries.Add(new Dictionary<string, object> { ["class"] = c, ["mask"] = mask });
            }

            lines.Add(JsonSerializer.Serialize(new Dictionary<string, object> { ["image"] = image, ["objects"] = entries }));
        }

        var path = Path.Combine(_work.FullName, "manifest.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }
}
