using System.Text.Json;
using System.Text.Json.Nodes;
using Salient.Engine.IO;

namespace Salient.Cli.Tests;

/// <summary><c>salient predict</c> end to end, in process: outputs, per-input errors and exit codes.</summary>
public sealed class PredictCommandTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("salient-predict-");

    public void Dispose() => _work.Delete(true);

    [Fact]
    public void Npy_inputs_give_pytorchs_logits_and_softmax_top5()
    {
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        using var expected = Npy.Read(Fixtures.Path("models", "resnet_basic.logits.npy"));
        var size = batch.Length / batch.Dim(0);
        var files = new List<string>();
        for (var i = 0; i < batch.Dim(0); i++)
        {
            var path = Path.Combine(_work.FullName, $"item{i}.npy");
            Npy.Write(path, batch.Span.Slice(i * size, size), i == 0 ? [3, 32, 32] : [1, 3, 32, 32]);
            files.Add(path);
        }

        var exit = Predict([.. files]);

        Assert.Equal(0, exit);
        var lines = Results();
        Assert.Equal(files.Count, lines.Count);
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            Assert.Equal(files[i], line.GetProperty("input").GetString());
            var logits = line.GetProperty("logits").EnumerateArray().Select(e => e.GetSingle()).ToArray();
            for (var k = 0; k < logits.Length; k++)
            {
                Assert.Equal(expected.Span[(i * logits.Length) + k], logits[k], 1e-4f);
            }

            var top = line.GetProperty("top").EnumerateArray().ToList();
            Assert.Equal(5, top.Count);
            Assert.Equal(Array.IndexOf(logits, logits.Max()), top[0].GetProperty("class").GetInt32());
            Assert.False(string.IsNullOrEmpty(top[0].GetProperty("label").GetString()));
            var scores = top.Select(t => t.GetProperty("score").GetDouble()).ToList();
            Assert.True(scores.SequenceEqual(scores.OrderDescending()));
            var z = logits.Sum(l => Math.Exp(l - logits.Max()));
            Assert.Equal(1 / z, scores[0], 1e-5);
            Assert.Equal("softmax", line.GetProperty("scores").GetString());
        }
    }

    [Fact]
    public void A_multi_label_model_scores_each_class_by_sigmoid_and_lists_every_class_above_half_first()
    {
        // The same network with a card that says multi_label: its logits are independent per class.
        var model = Path.Combine(_work.FullName, "multi.onnx");
        File.Copy(Fixtures.Path("models", "resnet_basic.onnx"), model);
        var card = JsonNode.Parse(File.ReadAllText(Fixtures.Path("models", "resnet_basic.json")))!.AsObject();
        card["multi_label"] = true;
        File.WriteAllText(Path.ChangeExtension(model, ".json"), card.ToJsonString());
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var size = batch.Length / batch.Dim(0);
        var files = new List<string>();
        for (var i = 0; i < batch.Dim(0); i++)
        {
            files.Add(Path.Combine(_work.FullName, $"item{i}.npy"));
            Npy.Write(files[^1], batch.Span.Slice(i * size, size), [3, 32, 32]);
        }

        Assert.Equal(0, Program.Main(["predict", "--model", model, "--out", _work.FullName, .. files]));

        foreach (var line in Results())
        {
            Assert.Equal("sigmoid", line.GetProperty("scores").GetString());
            var logits = line.GetProperty("logits").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            var top = line.GetProperty("top").EnumerateArray().ToList();
            var above = logits.Count(l => l > 0);
            Assert.Equal(Math.Max(5, above), top.Count);
            foreach (var (entry, rank) in top.Select((t, r) => (t, r)))
            {
                var k = entry.GetProperty("class").GetInt32();
                Assert.Equal(1 / (1 + Math.Exp(-logits[k])), entry.GetProperty("score").GetDouble(), 1e-6);
                Assert.Equal(rank < above, logits[k] > 0);
            }
        }
    }

    [Fact]
    public void A_folder_of_images_is_classified_in_batches()
    {
        var exit = Predict("--batch", "3", Fixtures.Path("images"));

        Assert.Equal(0, exit);
        var lines = Results();
        Assert.True(lines.Count >= 8, $"{lines.Count} results");
        Assert.All(lines, l => Assert.Equal(10, l.GetProperty("logits").GetArrayLength()));
    }

    [Fact]
    public void Bad_inputs_get_an_error_line_each_and_the_others_are_still_predicted()
    {
        var wrongShape = Path.Combine(_work.FullName, "wrong.npy");
        Npy.Write(wrongShape, new float[3 * 8 * 8], [3, 8, 8]);
        var empty = Path.Combine(_work.FullName, "empty.jpg");
        File.WriteAllBytes(empty, []);
        var truncated = Path.Combine(_work.FullName, "truncated.jpg");
        var good = Directory.GetFiles(Fixtures.Path("images"), "*.jpg").Order(StringComparer.Ordinal).First();
        var bytes = File.ReadAllBytes(good);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var missing = Path.Combine(_work.FullName, "missing.png");

        var exit = Predict(good, wrongShape, empty, truncated, missing);

        Assert.Equal(2, exit);
        var lines = Results();
        Assert.Equal(5, lines.Count);
        Assert.True(lines[0].TryGetProperty("logits", out _));
        foreach (var (line, file) in lines.Skip(1).Zip([wrongShape, empty, truncated, missing]))
        {
            Assert.Equal(file, line.GetProperty("input").GetString());
            Assert.Contains(file, line.GetProperty("error").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_bad_model_exits_1_naming_it()
    {
        var (exit, _, error) = Cli.Run("predict", "--model", Fixtures.Path("bad", "unsupported_op.onnx"), "--out", _work.FullName, Fixtures.Path("images"));
        Assert.Equal(1, exit);
        Assert.Contains("unsupported_op.onnx", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bad_command_exits_1()
    {
        Assert.Equal(1, Program.Main(["predict", "--out", _work.FullName, "x.png"]));
        Assert.Equal(1, Program.Main(["predict", "--model", "m.onnx", "--batch", "0", "--out", _work.FullName, "x.png"]));
    }

    [Fact]
    public void The_device_option_runs_on_the_cpu_and_the_gpu_path_and_names_what_is_missing()
    {
        using var batch = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var path = Path.Combine(_work.FullName, "item.npy");
        Npy.Write(path, batch.Span[..(batch.Length / batch.Dim(0))], [3, 32, 32]);

        Assert.Equal(0, Predict("--device", "cpu", path));
        var onCpu = Assert.Single(Results());

        // ILGPU's CPU accelerator runs the CUDA backend's kernels: the same prediction without a GPU.
        var ilgpuOut = Path.Combine(_work.FullName, "ilgpu");
        Assert.Equal(0, Program.Main(["predict", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--out", ilgpuOut, "--device", "ilgpu", path]));
        var onIlgpu = JsonDocument.Parse(Assert.Single(File.ReadAllLines(Path.Combine(ilgpuOut, "predictions.jsonl")))).RootElement;
        Assert.Equal(Top(onCpu), Top(onIlgpu));

        var (exit, _, error) = Cli.Run("predict", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--out", _work.FullName, "--device", "tpu", path);
        Assert.NotEqual(0, exit);
        Assert.Contains("Unknown device 'tpu'", error, StringComparison.Ordinal);
        Assert.Contains("cpu, cuda, ilgpu", error, StringComparison.Ordinal);

        (exit, _, error) = Cli.Run("predict", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--out", _work.FullName, "--device", "cuda:9", path);
        Assert.NotEqual(0, exit);
        Assert.Contains("'cuda:9'", error, StringComparison.Ordinal);
    }

    private static int Top(JsonElement line) => line.GetProperty("top")[0].GetProperty("class").GetInt32();

    private int Predict(params string[] arguments) =>
        Program.Main(["predict", "--model", Fixtures.Path("models", "resnet_basic.onnx"), "--out", _work.FullName, .. arguments]);

    private List<JsonElement> Results() =>
        [.. File.ReadAllLines(Path.Combine(_work.FullName, "predictions.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)];
}
