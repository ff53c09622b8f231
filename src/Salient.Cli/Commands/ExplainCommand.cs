using System.CommandLine;
using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Imaging;
using Salient.Methods;

namespace Salient.Cli.Commands;

/// <summary><c>salient explain</c>: saliency maps for every input and target, written as files plus DIR/manifest.jsonl.</summary>
internal static class ExplainCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "The ONNX model; a model card <model>.json beside it sets preprocessing and labels.", Required = true };
        var method = new Option<string>("--method") { Description = $"One of: {string.Join(", ", Explainer.MethodNames)}.", Required = true };
        var layer = new Option<string?>("--layer") { Description = "ONNX value name(s) of the layer(s), comma-separated; default: the input of global average pooling, or a ViT's last attention layer norm (see --reshape)." };
        var fuse = new Option<string?>("--fuse") { Description = "How several layers combine: mean (default), max (default with --denoise), product." };
        fuse.AcceptOnlyFromAmong("mean", "max", "product");
        var reshape = new Option<string>("--reshape")
        {
            Description = "How a layer becomes [N,C,H,W] maps: auto (4-D as is, token sequences [N,1+H·W,C] to a grid, class token dropped), none, tokens, channels-last ([N,H,W,C], Swin).",
            DefaultValueFactory = _ => "auto",
        };
        reshape.AcceptOnlyFromAmong("auto", "none", "tokens", "channels-last");
        var target = new Option<string>("--target") { Description = TargetSelection.Syntax + ", or manifest:FILE.jsonl (lines {\"input\":..., \"labels\":[...]}).", DefaultValueFactory = _ => "top1" };
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
        var innerBatch = new Option<int>("--inner-batch") { Description = "Masked, ablated or perturbed inputs per forward pass (Score-CAM, Ablation-CAM, Occlusion, feature ablation, RISE).", DefaultValueFactory = _ => 32 };
        var steps = new Option<int>("--steps") { Description = "Integration steps of integrated gradients.", DefaultValueFactory = _ => 16 };
        var parameters = new Option<string[]>("--param") { Description = "A method's own parameter NAME=VALUE, repeatable (e.g. occlusion's window=16; docs/methods.md lists them)." };
        var seed = new Option<int>("--seed") { Description = "Seed of the sampling methods (RISE, GradientSHAP, Random-CAM) and of SmoothGrad's noise." };
        var device = DeviceOption.Create();
        var inputs = new Argument<string[]>("INPUT") { Description = "Image files (JPEG, PNG), folders (searched recursively), or .npy tensors [C,H,W] / [1,C,H,W] used as is.", Arity = ArgumentArity.OneOrMore };

        var command = new Command("explain", "Explain the model's decisions on inputs: maps, heatmaps, overlays, masks and boxes per input and target.")
        {
            model, method, layer, fuse, reshape, target, batch, output, format, colormap, alpha, threshold, smooth, noise, denoise, denoiseQ, denoiseTanh, innerBatch, steps, parameters, seed, device, inputs,
        };
        command.SetAction(r =>
        {
            IReadOnlyDictionary<string, double> methodParameters;
            try
            {
                methodParameters = ExplanationMethods.ParseParameters(r.GetValue(parameters) ?? []);
            }
            catch (FormatException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }

            var options = new ExplainOptions
            {
                Method = r.GetValue(method)!,
                Layers = r.GetValue(layer)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [],
                Fuse = r.GetValue(fuse) is { } f ? Enum.Parse<LayerFusion>(f, ignoreCase: true) : null,
                Reshape = Enum.Parse<LayerReshape>(r.GetValue(reshape)!.Replace("-", "", StringComparison.Ordinal), ignoreCase: true),
                SmoothSamples = r.GetValue(smooth),
                SmoothNoise = r.GetValue(noise),
                Denoise = r.GetResult(denoise) is null ? null : Enum.Parse<DenoiseMode>(r.GetValue(denoise) ?? "floor", ignoreCase: true),
                DenoiseQuantile = r.GetValue(denoiseQ),
                DenoiseTanh = r.GetValue(denoiseTanh),
                InnerBatch = r.GetValue(innerBatch),
                IntegrationSteps = r.GetValue(steps),
                Parameters = methodParameters,
                Seed = r.GetValue(seed),
            };
            var formats = r.GetValue(format)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            return Run(r.GetValue(model)!, r.GetValue(device), options, r.GetValue(target)!, r.GetValue(batch), r.GetValue(output)!,
                () => RenderOptions.Create(formats, r.GetValue(colormap)!, r.GetValue(alpha), r.GetValue(threshold)), r.GetValue(inputs)!);
        });
        return command;
    }

    private static int Run(FileInfo modelFile, Device device, ExplainOptions options, string targetText, int batchSize, DirectoryInfo outDir, Func<RenderOptions> parseRendering, string[] arguments)
    {
        RenderOptions rendering;
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

            rendering = parseRendering();
            (model, loader) = InputLoader.Open(modelFile.FullName, device);
            explainer = Explainer.Create(model, options with { Scores = ClassScores.For(loader.Card) });
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
        using (var stream = new FileStream(manifestPath, FileMode.Create, FileAccess.Write, FileShare.Read))
        {
            var lines = new JsonLines(stream);
            Progress.Run($"explain {options.Method}", items.Count, report =>
            {
                var done = 0;
                foreach (var chunk in items.Chunk(batchSize))
                {
                    failed += ExplainChunk(explainer, loader, chunk, targetsFor, outDir.FullName, rendering, lines);
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
        string outDir, RenderOptions rendering, JsonLines lines)
    {
        using var batch = InputBatch.Load(loader, chunk);
        var (targets, seconds) = BatchExplainer.Explain(explainer, batch, chunk, [.. chunk.Select(targetsFor)], loader.Card, rendering);
        foreach (var target in targets)
        {
            var input = chunk[target.Input];
            if (target.Error is { } error)
            {
                lines.Write(json =>
                {
                    json.WriteString("input", input);
                    if (target.Class is { } c)
                    {
                        json.WriteNumber("class", c);
                    }

                    json.WriteString("error", error);
                });
                continue;
            }

            foreach (var file in target.Files)
            {
                var path = Path.Combine(outDir, target.Stem + file.Suffix);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, file.Content);
            }

            lines.Write(json =>
            {
                json.WriteString("input", input);
                json.WriteNumber("class", target.Class!.Value);
                json.WriteString("label", target.Label);
                json.WriteNumber("score", target.Score);
                json.WriteString("method", explainer.Options.Method);
                json.WriteString("layer", BatchExplainer.LayerLabel(explainer));
                foreach (var file in target.Files)
                {
                    json.WriteString(file.Key, target.Stem + file.Suffix);
                }

                json.WriteNumber("seconds", Math.Round(seconds, 4));
            });
        }

        return targets.Count(t => t.Error is not null);
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
            if (TargetSelection.DeprecationOf(text) is { } note)
            {
                Console.Error.WriteLine($"warning: {note}");
            }

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
}
