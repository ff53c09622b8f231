using System.Text.Json;
using Salient.Engine;
using Salient.Engine.IO;

namespace Salient.Methods.Tests;

/// <summary>
/// The sampling methods (SmoothGrad², VarGrad, GradientSHAP, RISE, Random-CAM, Shapley sampling,
/// Kernel SHAP) against the PyTorch
/// references of tests/fixtures/methods (manifest "statistical"): a reference of many samples or the
/// exact expectation, and a tolerance the generator measured as twice the worst distance of 8
/// independent PyTorch runs with the sample count used here. The same seed gives identical maps.
/// </summary>
public sealed class SamplingMethodTests
{
    private static readonly Lazy<JsonDocument> Manifest = new(() => JsonDocument.Parse(File.ReadAllBytes(Fixtures.Path("methods", "manifest.json"))));

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var model in Manifest.Value.RootElement.GetProperty("models").EnumerateArray())
        {
            foreach (var entry in model.GetProperty("statistical").EnumerateArray())
            {
                data.Add(model.GetProperty("name").GetString()!, entry.GetProperty("method").GetString()!);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Maps_land_within_the_measured_spread_of_the_pytorch_reference(string modelName, string method)
    {
        var model = Manifest.Value.RootElement.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("name").GetString() == modelName);
        var entry = model.GetProperty("statistical").EnumerateArray().Single(m => m.GetProperty("method").GetString() == method);
        var tolerance = entry.GetProperty("tolerance");
        var samples = tolerance.GetProperty("test_samples").GetInt32();
        var fixtureOptions = entry.GetProperty("options");
        var targets = model.GetProperty("targets").EnumerateArray()
            .Select(t => (IReadOnlyList<int>)[.. t.EnumerateArray().Select(c => c.GetInt32())]).ToList();
        var onnx = Model.Load(Fixtures.Path("models", modelName + ".onnx"));
        using var input = Npy.Read(Fixtures.Path("models", modelName + ".input.npy"));
        using var expectedMaps = Npy.Read(Fixtures.Path("methods", entry.GetProperty("map").GetString()!));
        using var expectedRaws = Npy.Read(Fixtures.Path("methods", entry.GetProperty("raw").GetString()!));

        var parameters = ParityTests.MethodParameters(method, fixtureOptions);
        foreach (var name in new[] { "samples", "masks", "permutations" })
        {
            if (ExplanationMethods.Find(method).Parameters.Any(p => p.Name == name))
            {
                parameters[name] = samples;
            }
        }

        var options = new ExplainOptions
        {
            Method = method,
            Layers = [.. entry.GetProperty("layers").EnumerateArray().Select(l => l.GetString()!)],
            SmoothSamples = method is "smoothgrad-sq" or "vargrad" ? samples : 0,
            SmoothNoise = fixtureOptions.TryGetProperty("noise", out var noise) ? noise.GetSingle() : 0.15f,
            InnerBatch = 100,
            Seed = 7,
            Parameters = parameters,
        };

        Func<(float[] Raws, float[] Maps)> explain = method == "randomcam" ? () => RandomCamMoments(onnx, input, options, samples / 2) : () => Run(onnx, input, targets, options);
        var (raws, maps) = explain();
        var again = explain();
        Assert.Equal(raws, again.Raws);
        Assert.Equal(maps, again.Maps);

        var rawTolerance = tolerance.GetProperty("raw_rel_l2").GetDouble();
        var mapTolerance = tolerance.GetProperty("map_max_abs").GetDouble();
        var error = ParityTests.RelativeL2(expectedRaws.Span, raws);
        Assert.True(error <= rawTolerance, $"raw relative L2 error {error:G3} > {rawTolerance} (PyTorch runs: {tolerance.GetProperty("observed_raw_rel_l2")})");
        var worst = 0f;
        for (var i = 0; i < maps.Length; i++)
        {
            worst = Math.Max(worst, Math.Abs(expectedMaps.Span[i] - maps[i]));
        }

        Assert.True(worst <= mapTolerance, $"map differs by up to {worst:G3} > {mapTolerance} (PyTorch runs: {tolerance.GetProperty("observed_map_max_abs")})");
    }

    /// <summary>Raw and map of every image and target, concatenated in the fixture's order [image, target, ...].</summary>
    private static (float[] Raws, float[] Maps) Run(Model model, Tensor input, List<IReadOnlyList<int>> targets, ExplainOptions options)
    {
        var results = Explainer.Create(model, options).Explain(input, TargetSelection.PerImage(targets));
        try
        {
            Assert.Equal(4, results.Count);
            return ([.. results.SelectMany(r => r.Raw.Span.ToArray())], [.. results.SelectMany(r => r.Map.Span.ToArray())]);
        }
        finally
        {
            foreach (var r in results)
            {
                r.Dispose();
            }
        }
    }

    /// <summary>Random-CAM: the mean of raw² per image over <paramref name="seeds"/> seeds × 2 classes, and its min-max.</summary>
    private static (float[] Raws, float[] Maps) RandomCamMoments(Model model, Tensor input, ExplainOptions options, int seeds)
    {
        double[]? sum = null;
        var count = 0;
        for (var seed = 0; seed < seeds; seed++)
        {
            var results = Explainer.Create(model, options with { Seed = seed }).Explain(input, TargetSelection.Classes(0, 1));
            try
            {
                var plane = results[0].Raw.Length;
                sum ??= new double[input.Dim(0) * plane];
                foreach (var r in results)
                {
                    for (var i = 0; i < plane; i++)
                    {
                        sum[(r.Image * plane) + i] += (double)r.Raw.Span[i] * r.Raw.Span[i];
                    }
                }

                count = results.Count / input.Dim(0) * (seed + 1);
            }
            finally
            {
                foreach (var r in results)
                {
                    r.Dispose();
                }
            }
        }

        var moments = sum!.Select(v => (float)(v / count)).ToArray();
        var maps = (float[])moments.Clone();
        var perImage = maps.Length / input.Dim(0);
        for (var b = 0; b < input.Dim(0); b++)
        {
            var map = maps.AsSpan(b * perImage, perImage);
            var min = System.Numerics.Tensors.TensorPrimitives.Min(map);
            System.Numerics.Tensors.TensorPrimitives.Subtract(map, min, map);
            System.Numerics.Tensors.TensorPrimitives.Multiply(map, 1f / (System.Numerics.Tensors.TensorPrimitives.Max(map) + 1e-7f), map);
        }

        return (moments, maps);
    }
}
