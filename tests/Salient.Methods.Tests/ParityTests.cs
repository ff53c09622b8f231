using System.Text.Json;
using Salient.Engine;
using Salient.Engine.IO;

namespace Salient.Methods.Tests;

/// <summary>
/// Every method's maps and raw maps against the PyTorch reference implementation of the specs
/// (tests/fixtures/methods/make_method_fixtures.py): maps within 2e-3 max absolute difference,
/// raw maps within 1e-3 relative L2 (Eigen-CAM's sign is fixed by the SegEigenCAM rule on both sides).
/// </summary>
public sealed class ParityTests
{
    private static readonly Lazy<JsonDocument> Manifest = new(() => JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("methods", "manifest.json"))));

    public static TheoryData<string, string, string> Cases()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var model in Manifest.Value.RootElement.GetProperty("models").EnumerateArray())
        {
            foreach (var method in model.GetProperty("methods").EnumerateArray())
            {
                var variant = method.GetProperty("variant").GetString() ?? string.Empty;
                if (variant != "flipped")
                {
                    data.Add(model.GetProperty("name").GetString()!, method.GetProperty("method").GetString()!, variant);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Maps_match_the_pytorch_reference(string modelName, string method, string variant)
    {
        var model = Manifest.Value.RootElement.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("name").GetString() == modelName);
        var entry = model.GetProperty("methods").EnumerateArray().Single(m =>
            m.GetProperty("method").GetString() == method && (m.GetProperty("variant").GetString() ?? string.Empty) == variant);
        var options = new ExplainOptions
        {
            Method = method,
            Layers = [.. entry.GetProperty("layers").EnumerateArray().Select(l => l.GetString()!)],
            Fuse = variant == "multi" ? LayerFusion.Mean : null,
            Denoise = variant == "denoise-floor" ? DenoiseMode.Floor : null,
            DenoiseQuantile = 0.7f,
            IntegrationSteps = 16,
            Parameters = MethodParameters(method, entry.GetProperty("options")),
        };
        if (method == "guided-gradcam" || options.Layers.Count == 0)
        {
            options = options with { Layers = method == "guided-gradcam" ? options.Layers : [] };
        }

        var targets = model.GetProperty("targets").EnumerateArray()
            .Select(t => (IReadOnlyList<int>)[.. t.EnumerateArray().Select(c => c.GetInt32())]).ToList();
        var onnx = Model.Load(Fixtures.Path("models", modelName + ".onnx"));
        using var input = Npy.Read(Fixtures.Path("models", modelName + ".input.npy"));
        using var expectedMaps = Npy.Read(Fixtures.Path("methods", entry.GetProperty("map").GetString()!));
        using var expectedRaws = Npy.Read(Fixtures.Path("methods", entry.GetProperty("raw").GetString()!));

        // An entry may state a looser raw tolerance, measured by the generator (LRP's relevance rules amplify float32 rounding).
        var rawTolerance = entry.GetProperty("options").TryGetProperty("raw_rel_l2", out var stated) ? stated.GetDouble() : 1e-3;
        var results = Explainer.Create(onnx, options).Explain(input, TargetSelection.PerImage(targets));
        try
        {
            Assert.Equal(4, results.Count);
            var mapSize = expectedMaps.Length / 4;
            var rawSize = expectedRaws.Length / 4;
            for (var i = 0; i < 4; i++)
            {
                var result = results[i];
                Assert.Equal(targets[i / 2][i % 2], result.Class);
                var expectedMap = expectedMaps.Span.Slice(i * mapSize, mapSize);
                var expectedRaw = expectedRaws.Span.Slice(i * rawSize, rawSize);
                Assert.Equal(mapSize, result.Map.Length);
                Assert.Equal(rawSize, result.Raw.Length);

                var worst = 0f;
                for (var k = 0; k < mapSize; k++)
                {
                    worst = Math.Max(worst, Math.Abs(expectedMap[k] - result.Map.Span[k]));
                }

                Assert.True(worst <= 2e-3f, $"image {i / 2} target {i % 2}: map differs by up to {worst}");
                var error = RelativeL2(expectedRaw, result.Raw.Span);
                Assert.True(error <= rawTolerance, $"image {i / 2} target {i % 2}: raw relative L2 error {error} > {rawTolerance}");
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

    /// <summary>The fixture's options that are parameters of the method (e.g. Occlusion's window), as <see cref="ExplainOptions.Parameters"/>.</summary>
    internal static Dictionary<string, double> MethodParameters(string method, JsonElement options) =>
        ExplanationMethods.Find(method).Parameters
            .Where(p => options.TryGetProperty(p.Name, out var v) && v.ValueKind == JsonValueKind.Number)
            .ToDictionary(p => p.Name, p => options.GetProperty(p.Name).GetDouble());

    internal static double RelativeL2(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual)
    {
        double diff = 0, norm = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            diff += Math.Pow(expected[i] - actual[i], 2);
            norm += Math.Pow(expected[i], 2);
        }

        return Math.Sqrt(diff / Math.Max(norm, 1e-30));
    }
}
