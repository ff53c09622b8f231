using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Salient.Engine;
using Salient.Engine.IO;
using Salient.Imaging;
using Salient.Methods;

namespace Salient.Cli.Commands;

/// <summary><c>salient explain</c>: saliency maps for every input and target, written as files plus DIR/manifest.jsonl.</summary>
internal static class ExplainCommand
{
    private static readonly string[] Formats = ["npy", "png", "overlay", "mask", "boxes"];

    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "The ONNX model; a model card <model>.json beside it sets preprocessing and labels.", Required = true };
        var method = new Option<string>("--method") { Description = $"One of: {string.Join(", ", Explainer.MethodNames)}.", Required = true };
        var layer = new Option<string?>("--layer") { Description = "ONNX value name(s) of the layer(s), comma-separated; default: the last 4-D activation before global pooling." };
        var fuse = new Option<string?>("--fuse") { Description = "How several layers combine: mean (default), max (default with --denoise), product." };
        fuse.AcceptOnlyFromAmong("mean", "max", "product");
        var target = new Option<string>("--target") { Description = "top1, topk:K, class:I[,J...], or manifest:FILE.jsonl (lines {\"input\":..., \"labels\":[...]}).", DefaultValueFactory = _ => "top1" };
        var batch = new Option<int>("--batch") { Description = "Inputs per forward pass.", DefaultValueFactory = _ => 8 };
        var output = new Option<DirectoryInfo>("--out") { Description = "Output folder (created if missing).", DefaultValueFactory = _ => new DirectoryInfo("explanations") };
        var format = new Option<string>("--format") { Description = "Comma-separated outputs: npy (map and raw map), png (heatmap), overlay, mask, boxes.", DefaultValueFactory = _ => "npy,png,overlay" };
        var colormap = new Option<string>("--colormap") { Description = $"Heatmap colours: {string.Join(", ", Colormaps.Names)}.", DefaultValueFactory = _ => "jet" };
        var alpha = new Option<double>("--alpha") { Description = "Weight of the heatmap in the overlay.", DefaultValueFactory = _ => SaliencyRenderer.DefaultAlpha };
        var threshold = new Option<float>("--threshold") { Description = "Map threshold for masks and boxes.", DefaultValueFactory = _ => SaliencyRenderer.DefaultThreshold };
        var smooth = new Option<int>("--smooth") { Description = "SmoothGrad: average a gradient method over N noisy copies." };
        var noise = new Option<float>("--noise") { Description = "SmoothGrad noise, as a fraction of each image's value range.", DefaultValueFactory = _ => 0.15f };
        var denoise = new Option<string?>("--denoise") { Description = "Gradient truncation of shallow-layer CAMs: floor (default when given), ceil, rectify, backprop.", Arity = ArgumentArity.ZeroOrOne };
        denoise.AcceptOnlyFromAmong("floor", "ceil", "rectify", "backprop");
        var denoiseQ = new Option<float>("--denoise-q") { Description = "Quantile q of the truncation.", DefaultValueFactory = _ => 0.7f };
        var denoiseTanh = new Option<bool>("--denoise-tanh") { Description = "Rescale each layer's map by tanh(2·M) before fusion." };
        var innerBatch = new Option<int>("--inner-batch") { Description = "Masked or ablated inputs per forward pass (Score-CAM, Ablation-CAM).", DefaultValueFactory = _ => 32 };
        var steps = new Option<int>("--steps") { Description = "Integration steps of integrated gradients.", DefaultValueFactory = _ => 16 };
        var inputs = new Argument<string[]>("INPUT") { Description = "Image files (JPEG, PNG), folders (searched recursively), or .npy tensors [C,H,W] / [1,C,H,W] used as is.", Arity = ArgumentArity.OneOrMore };

        var command = new Command("explain", "Explain the model's decisions on inputs: maps, heatmaps, overlays, masks and boxes per input and target.")
        {
            model, method, layer, fuse, target, batch, output, format, colormap, alpha, threshold, smooth, noise, denoise, denoiseQ, denoiseTanh, innerBatch, steps, inputs,
        };
        command.SetAction(r =>
        {
            var options = new ExplainOptions
            {
                Method = r.GetValue(method)!,
                Layers = r.GetValue(layer)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [],
                Fuse = r.GetValue(fuse) is { } f ? Enum.Parse<LayerFusion>(f, ignoreCase: true) : null,
                SmoothSamples = r.GetValue(smooth),
                SmoothNoise = r.GetValue(noise),
                Denoise = r.GetResult(denoise) is null ? null : Enum.Parse<DenoiseMode>(r.GetValue(denoise) ?? "floor", ignoreCase: true),
                DenoiseQuantile = r.GetValue(denoiseQ),
                DenoiseTanh = r.GetValue(denoiseTanh),
                InnerBatch = r.GetValue(innerBatch),
                IntegrationSteps = r.GetValue(steps),
            };
            var rendering = new Rendering(r.GetValue(format)!, r.GetValue(colormap)!, r.GetValue(alpha), r.GetValue(threshold));
            return Run(r.GetValue(model)!, options, r.GetValue(target)!, r.GetValue(batch), r.GetValue(output)!, rendering, r.GetValue(inputs)!);
        });
        return command;
    }

    private static int Run(FileInfo modelFile, ExplainOptions options, string targetText, int batchSize, DirectoryInfo outDir, Rendering rendering, string[] arguments)
    {
        Model model;
        InputLoader loader;
        Explainer explainer;
        Func<string, TargetSelection?> targetsFor;
        try
        {
            if (batchSize <= 0)
            {
                throw new ArgumentException("--batch must be a positive number.");
            }

            rendering.Validate();
            (model, loader) = InputLoader.Open(modelFile.FullName);
            explainer = Explainer.Create(model, options);
            targetsFor = ParseTargets(targetText);
        }
        catch (Exception e) when (e is ModelException or InvalidDataException or ArgumentException or FormatException or IOException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }

        var items = InputFiles.Expand(arguments);
        Directory.CreateDirectory(outDir.FullName);
        var manifestPath = Path.Combine(outDir.FullName, "manifest.jsonl");
        var failed = 0;
        var layerTag = options.Layers.Count == 0 ? string.Empty : "-" + Sanitize(string.Join('+', explainer.Layers));
        using (var stream = new FileStream(manifestPath, FileMode.Create, FileAccess.Write, FileShare.Read))
        {
            var lines = new JsonLines(stream);
            Progress.Run($"explain {options.Method}", items.Count, report =>
            {
                var done = 0;
                foreach (var chunk in items.Chunk(batchSize))
                {
                    failed += ExplainChunk(explainer, loader, chunk, targetsFor, outDir.FullName, options.Method + layerTag, rendering, lines);
                    done += chunk.Length;
                    stream.Flush();
                    report(done, failed);
                }
            });
        }

        Console.WriteLine($"{items.Count} inputs explained with {options.Method}, {failed} failures; manifest in {manifestPath}");
        return failed == 0 ? 0 : 2;
    }

    /// <summary>Explains one chunk and writes its files and manifest lines; returns the number of failed lines.</summary>
    private static int ExplainChunk(Explainer explainer, InputLoader loader, string[] chunk, Func<string, TargetSelection?> targetsFor,
        string outDir, string stem, Rendering rendering, JsonLines lines)
    {
        var failed = 0;
        using var batch = Batches.Load(loader, chunk);
        var errors = (string?[])batch.Errors.Clone();
        var perInput = new List<Explanation>?[chunk.Length];
        var clock = Stopwatch.StartNew();
        if (batch.Tensor is not null)
        {
            try
            {
                var selections = batch.Loaded.Select(i => targetsFor(chunk[i])).ToArray();
                var missing = Array.FindIndex(selections, s => s is null);
                if (missing >= 0)
                {
                    throw new ArgumentException($"Input '{chunk[batch.Loaded[missing]]}' is not in the target manifest.");
                }

                var results = explainer.Explain(batch.Tensor, Combined(selections!));
                foreach (var result in results)
                {
                    (perInput[batch.Loaded[result.Image]] ??= []).Add(result);
                }
            }
            catch (Exception e) when (e is ModelException or ArgumentException)
            {
                foreach (var i in batch.Loaded)
                {
                    errors[i] = e.Message;
                }
            }
        }

        var seconds = clock.Elapsed.TotalSeconds / Math.Max(1, perInput.Sum(p => p?.Count ?? 0));
        var card = loader.Card;
        var preprocessor = new ImagePreprocessor(card);
        for (var i = 0; i < chunk.Length; i++)
        {
            if (errors[i] is { } error)
            {
                lines.WriteError(chunk[i], error);
                failed++;
                continue;
            }

            var row = Array.IndexOf(batch.Loaded, i);
            var imageSize = card.Channels * card.Height * card.Width;
            using var input = Tensor.FromSpan(batch.Tensor!.Span.Slice(row * imageSize, imageSize), card.Channels, card.Height, card.Width);
            foreach (var explanation in perInput[i] ?? [])
            {
                using (explanation)
                {
                    if (!explanation.IsFinite)
                    {
                        lines.Write(json =>
                        {
                            json.WriteString("input", chunk[i]);
                            json.WriteNumber("class", explanation.Class);
                            json.WriteString("error", $"the {explainer.Options.Method} map contains NaN or infinity");
                        });
                        failed++;
                        continue;
                    }

                    var files = WriteFiles(outDir, Path.Combine(Sanitize(chunk[i]), $"{stem}-c{explanation.Class}"), explanation, input, preprocessor, rendering);
                    lines.Write(json =>
                    {
                        json.WriteString("input", chunk[i]);
                        json.WriteNumber("class", explanation.Class);
                        json.WriteString("label", explanation.Class < card.Labels.Count ? card.Labels[explanation.Class] : null);
                        json.WriteNumber("score", explanation.Probability);
                        json.WriteString("method", explainer.Options.Method);
                        json.WriteString("layer", explainer.Layers.Count == 0 ? null : string.Join(',', explainer.Layers));
                        foreach (var (key, path) in files)
                        {
                            json.WriteString(key, path);
                        }

                        json.WriteNumber("seconds", Math.Round(seconds, 4));
                    });
                }
            }
        }

        return failed;
    }

    /// <summary>Writes the requested files of one explanation; returns manifest keys with paths relative to the output folder.</summary>
    private static List<(string Key, string Path)> WriteFiles(string outDir, string stem, Explanation explanation, Tensor input,
        ImagePreprocessor preprocessor, Rendering rendering)
    {
        var files = new List<(string, string)>();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(outDir, stem))!);
        string Relative(string suffix) => (stem + suffix).Replace('\\', '/');
        var (height, width) = (explanation.Map.Dim(0), explanation.Map.Dim(1));
        var map = explanation.Map.Span;
        if (rendering.Wants("npy"))
        {
            Npy.Write(Path.Combine(outDir, stem + ".npy"), explanation.Map);
            Npy.Write(Path.Combine(outDir, stem + ".raw.npy"), explanation.Raw);
            files.Add(("map", Relative(".npy")));
            files.Add(("raw", Relative(".raw.npy")));
        }

        if (rendering.Wants("png"))
        {
            using var heatmap = SaliencyRenderer.Heatmap(map, width, height, rendering.Colormap);
            PngEncoder.Write(Path.Combine(outDir, stem + ".png"), heatmap.Pixels, width, height, PngColorType.Rgb);
            files.Add(("png", Relative(".png")));
        }

        if (rendering.Wants("overlay"))
        {
            using var seen = preprocessor.Denormalize(input);
            using var overlay = SaliencyRenderer.Overlay(map, seen, rendering.Colormap, rendering.Alpha);
            PngEncoder.Write(Path.Combine(outDir, stem + ".overlay.png"), overlay.Pixels, width, height, PngColorType.Rgb);
            files.Add(("overlay", Relative(".overlay.png")));
        }

        if (rendering.Wants("mask"))
        {
            var mask = new byte[width * height];
            SaliencyRenderer.Mask(map, width, height, mask, rendering.Threshold);
            PngEncoder.Write(Path.Combine(outDir, stem + ".mask.png"), mask, width, height, PngColorType.Gray);
            files.Add(("mask", Relative(".mask.png")));
        }

        if (rendering.Wants("boxes"))
        {
            var box = SaliencyRenderer.Box(map, width, height, rendering.Threshold);
            File.WriteAllText(Path.Combine(outDir, stem + ".boxes.json"), JsonSerializer.Serialize(box is null ? [] : new[] { box.Value }));
            files.Add(("boxes", Relative(".boxes.json")));
        }

        return files;
    }

    /// <summary>
    /// The target selection for an input: the same for all, or from a manifest of labels per input.
    /// Returns null for an input the manifest does not list.
    /// </summary>
    private static Func<string, TargetSelection?> ParseTargets(string text)
    {
        if (!text.StartsWith("manifest:", StringComparison.Ordinal))
        {
            var selection = TargetSelection.Parse(text);
            return _ => selection;
        }

        var path = text["manifest:".Length..];
        var labels = JsonLines.Read(path, "Target manifest", "{\"input\": ..., \"labels\": [classes]}", root =>
        {
            var classes = root.TryGetProperty("labels", out var list) ? list.EnumerateArray().Select(e => e.GetInt32()).ToArray() : [root.GetProperty("label").GetInt32()];
            return (Input: root.GetProperty("input").GetString()!, Targets: TargetSelection.Classes(classes));
        }).GroupBy(l => l.Input, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().Targets, StringComparer.Ordinal);

        return input => labels.GetValueOrDefault(input);
    }

    /// <summary>One selection for a batch whose images each have their own.</summary>
    private static TargetSelection Combined(TargetSelection[] perImage) =>
        perImage.Distinct().Count() == 1 ? perImage[0] : TargetSelection.PerImage(perImage);

    /// <summary>A file-name-safe, deterministic form of an input path or layer name (re-runs overwrite the same files).</summary>
    private static string Sanitize(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text.TrimStart('.', '/'))
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' ? c : '_');
        }

        return builder.ToString();
    }

    private sealed record Rendering(string FormatList, string ColormapName, double Alpha, float Threshold)
    {
        private readonly HashSet<string> _formats = [.. FormatList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];

        public Colormap Colormap => Colormaps.Parse(ColormapName);

        public bool Wants(string format) => _formats.Contains(format);

        public void Validate()
        {
            var unknown = _formats.Except(Formats).ToList();
            if (unknown.Count > 0 || _formats.Count == 0)
            {
                throw new ArgumentException($"--format '{FormatList}': valid formats are {string.Join(", ", Formats)}.");
            }

            _ = Colormap;
            if (Alpha is < 0 or > 1)
            {
                throw new ArgumentException("--alpha must lie in [0, 1].");
            }
        }
    }
}
