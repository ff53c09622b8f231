using System.Text.Json;
using Salient.Engine;
using Salient.Engine.IO;
using Salient.Imaging;

namespace Salient.Methods.Tests;

/// <summary>
/// Deep Feature Factorization's concept logits against the PyTorch reference (its maps and raw H are in
/// <see cref="ParityTests"/>), and the file that carries them.
/// </summary>
public sealed class DffTests
{
    private static readonly Lazy<JsonDocument> Manifest = new(() => JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("methods", "manifest.json"))));

    public static TheoryData<string> Models() =>
        [.. Manifest.Value.RootElement.GetProperty("models").EnumerateArray()
            .Where(m => m.GetProperty("methods").EnumerateArray().Any(e => e.GetProperty("method").GetString() == "dff"))
            .Select(m => m.GetProperty("name").GetString()!)];

    [Theory]
    [MemberData(nameof(Models))]
    public void Concept_logits_match_the_pytorch_reference(string modelName)
    {
        var model = Manifest.Value.RootElement.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("name").GetString() == modelName);
        var entry = model.GetProperty("methods").EnumerateArray().Single(m => m.GetProperty("method").GetString() == "dff");
        var options = entry.GetProperty("options");
        var tolerance = options.TryGetProperty("concepts_rel_l2", out var stated) ? stated.GetDouble() : 1e-3;
        var explainer = Explainer.Create(Model.Load(Fixtures.Path("models", modelName + ".onnx")), new ExplainOptions
        {
            Method = "dff",
            Layers = [.. entry.GetProperty("layers").EnumerateArray().Select(l => l.GetString()!)],
            Parameters = ParityTests.MethodParameters("dff", options),
        });
        using var input = Npy.Read(Fixtures.Path("models", modelName + ".input.npy"));
        using var expected = Npy.Read(Fixtures.Path("methods", entry.GetProperty("concepts").GetString()!));
        var results = explainer.Explain(input, TargetSelection.Top1);
        try
        {
            var perImage = expected.Length / 2;
            foreach (var result in results)
            {
                var scores = result.ConceptScores!;
                Assert.Equal(expected.Shape[1..].ToArray(), scores.ShapeArray());
                var error = ParityTests.RelativeL2(expected.Span.Slice(result.Image * perImage, perImage), scores.Span);
                Assert.True(error <= tolerance, $"image {result.Image}: concept logits' relative L2 error {error} > {tolerance}");
            }
        }
        finally
        {
            foreach (var result in results)
            {
                result.Dispose();
            }
        }
    }

    [Fact]
    public void The_concept_logits_are_written_beside_the_raw_map()
    {
        var model = Model.Load(Fixtures.Path("models", "resnet_basic.onnx"));
        using var pair = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var card = ModelCard.Default(3, 32, 32);
        using var batch = InputBatch.Load(card, 1, (tensor, i) => pair.Span[..tensor.Length].CopyTo(tensor.Span));
        var explainer = Explainer.Create(model, new ExplainOptions { Method = "dff", Parameters = new Dictionary<string, double> { ["components"] = 3 } });
        var (targets, _) = BatchExplainer.Explain(explainer, batch, ["a.png"], [TargetSelection.Top1], card, RenderOptions.Create(["npy"]));

        var files = Assert.Single(targets).Files;
        Assert.Equal(["map", "raw", "concepts"], files.Select(f => f.Key));
        using var concepts = Npy.Read(files[2].Content, "concepts");
        using var raw = Npy.Read(files[1].Content, "raw");
        Assert.Equal([3, 10], concepts.ShapeArray());
        Assert.Equal(3, raw.Dim(0));
    }

    [Fact]
    public void Dff_factorises_one_layer()
    {
        var model = Model.Load(Fixtures.Path("models", "resnet_basic.onnx"));
        var error = Assert.Throws<ArgumentException>(() => Explainer.Create(model, new ExplainOptions
        {
            Method = "dff",
            Layers = ["/layer2/layer2.0/relu_1/Relu_output_0", "/layer3/layer3.0/relu_1/Relu_output_0"],
        }));
        Assert.Contains("one layer", error.Message, StringComparison.Ordinal);
    }
}
