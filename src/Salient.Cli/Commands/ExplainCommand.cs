using System.CommandLine;
using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Imaging;
using Salient.Methods;
using Salient.Methods.Pipeline;

namespace Salient.Cli.Commands;

/// <summary><c>salient explain</c>: saliency maps for every input and target, written as files plus DIR/manifest.jsonl.</summary>
internal static class ExplainCommand
{
    /// <summary>The CLI's own target form: classes per input from a JSON-lines file.</summary>
    private const string ManifestTargets = "manifest:";

    /// <summary>This command's names of the shared options where they differ from <c>--</c> + the JSON field.</summary>
    private static readonly Dictionary<string, string> OptionNames = new(StringComparer.Ordinal)
    {
        ["methods"] = "--method",
        ["targets"] = "--target",
        ["layers"] = "--layer",
    };

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
            ExplainOptions options;
            var targetText = r.GetValue(target)!;
            try
            {
                // The manifest:FILE form is the CLI's own; every other target goes through the shared parser.
                var fromFile = targetText.StartsWith(ManifestTargets, StringComparison.Ordinal);
                var pipeline = PipelineArguments.Parse(
                    new PipelineText(
                        [r.GetValue(method)!],
                        fromFile ? null : targetText,
                        PipelineArguments.Split(r.GetValue(layer)),
                        r.GetResult(denoise) is null ? null : r.GetValue(denoise) ?? "floor",
                        r.GetValue(denoiseQ),
                        Seed: r.GetValue(seed)),
                    r.GetValue(parameters) ?? [],
                    OptionNames);
                if (pipeline.Targets == PipelineOptions.LabelTargets)
                {
                    throw new ArgumentException($"--target: '{PipelineOptions.LabelTargets}' needs a dataset; give each input's classes with {ManifestTargets}FILE.jsonl.");
                }

                targetText = fromFile ? targetText : pipeline.Targets;
                options = pipeline.ExplainOptionsFor(pipeline.Methods[0]) with
                {
                    Fuse = r.GetValue(fuse) is { } f ? Enum.Parse<LayerFusion>(f, ignoreCase: true) : null,
                    Reshape = Enum.Parse<LayerReshape>(r.GetValue(reshape)!.Replace("-", "", StringComparison.Ordinal), ignoreCase: true),
                    SmoothSamples = r.GetValue(smooth),
                    SmoothNoise = r.GetValue(noise),
                    DenoiseTanh = r.GetValue(denoiseTanh),
                    InnerBatch = r.GetValue(innerBatch),
                    IntegrationSteps = r.GetValue(steps),
                };
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }

            var formats = PipelineArguments.Split(r.GetValue(format));
            return Run(r.GetValue(model)!, r.GetValue(device), options, targetText, r.GetValue(batch), r.GetValue(output)!,
                () => RenderOptions.Create(formats, r.GetValue(colormap)!, r.GetValue(alpha), r.GetValue(threshold)), r.GetValue(inputs)!);
        });
        return command;
    }

    private static int Run(FileInfo modelFile, Device device, ExplainOptions options, string targetText, int batchSize, DirectoryInfo outDir, Func<RenderOptions> parseRendering, string[] arguments)
    {
        Model model;
        InputLoader loader;
        ExplainPipeline pipeline;
        Func<string, TargetSelection?> targetsFor;
        try
        {
            if (batchSize <= 0)
            {
                throw new ArgumentException("--batch must be a positive number.");
            }

            var rendering = parseRendering();
            (model, loader) = InputLoader.Open(modelFile.FullName, device);
            pipeline = new ExplainPipeline(model, loader.Card, [options], rendering);
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
            Progress.Run($"explain {options.Method}", items.Count, report =>
            {
                var done = 0;
                // The next chunk decodes while this one is explained; each batch is this loop's to dispose.
                foreach (var (chunk, loaded) in BatchPrefetch.Load(items.Chunk(batchSize), chunk => InputBatch.Load(loader, chunk), BatchPrefetch.DefaultFor(model.Device)))
                {
                    using (loaded)
                    {
                        failed += ExplainChunk(pipeline, loaded, chunk, targetsFor, outDir.FullName, stream);
                    }

                    done += chunk.Length;
                    stream.Flush();
                    report(done, failed);
                }
            });
        }

        Console.WriteLine($"{items.Count} inputs explained with {options.Method}, {failed} failures; manifest in {manifestPath}");
        return failed == 0 ? 0 : 2;
    }

    /// <summary>Explains one chunk and writes its files and manifest records; returns the number of failed records.</summary>
    private static int ExplainChunk(ExplainPipeline pipeline, InputBatch batch, string[] chunk, Func<string, TargetSelection?> targetsFor, string outDir, Stream manifest)
    {
        var explained = pipeline.Explain(batch, chunk, [.. chunk.Select(targetsFor)]);
        foreach (var file in explained.Files)
        {
            var path = Path.Combine(outDir, file.Path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, file.Content);
        }

        foreach (var record in explained.Records)
        {
            manifest.Write(record.ToJsonLine());
        }

        return explained.Records.Count(r => r.Error is not null);
    }

    /// <summary>
    /// The target selection for an input: the same for all, or from a manifest of labels per input.
    /// Returns null for an input the manifest does not list.
    /// </summary>
    private static Func<string, TargetSelection?> ParseTargets(string text)
    {
        if (!text.StartsWith(ManifestTargets, StringComparison.Ordinal))
        {
            var selection = TargetSelection.Parse(text);
            return _ => selection;
        }

        var path = text[ManifestTargets.Length..];
        var labels = JsonLines.Read(path, "Target manifest", "{\"input\": ..., \"labels\": [classes]}", root =>
        {
            var classes = root.TryGetProperty("labels", out var list) ? list.EnumerateArray().Select(e => e.GetInt32()).ToArray() : [root.GetProperty("label").GetInt32()];
            return (Input: root.GetProperty("input").GetString()!, Targets: TargetSelection.Classes(classes));
        }).GroupBy(l => l.Input, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().Targets, StringComparer.Ordinal);

        return input => labels.GetValueOrDefault(input);
    }
}
