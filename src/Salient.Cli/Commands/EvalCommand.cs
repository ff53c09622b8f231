using System.CommandLine;
using System.Globalization;
using Salient.Cli.Reports;
using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Imaging;
using Salient.Methods;
using Salient.Methods.Metrics;
using Salient.Methods.Pipeline;

namespace Salient.Cli.Commands;

/// <summary>
/// <c>salient eval</c>: explanation-quality metrics of several methods over a scenes dataset, batch by
/// batch into one <see cref="MetricAccumulator"/>; writes DIR/items.jsonl, DIR/metrics.json and a report with plots.
/// </summary>
internal static class EvalCommand
{
    /// <summary>This command's names of the shared options where they differ from <c>--</c> + the JSON field.</summary>
    private static readonly Dictionary<string, string> OptionNames = new(StringComparer.Ordinal) { ["layers"] = "--layer" };

    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "The ONNX model; a model card <model>.json beside it sets preprocessing and labels.", Required = true };
        var methods = new Option<string>("--methods") { Description = $"Comma-separated methods: {string.Join(", ", Explainer.MethodNames)}.", Required = true };
        var dataset = new Option<FileInfo>("--dataset") { Description = "A manifest.jsonl from `salient scenes` (lines {\"image\", \"labels\", \"objects\": [{\"class\", \"mask\"}]}, paths relative to it).", Required = true };
        var metrics = new Option<string>("--metrics") { Description = $"Comma-separated metrics: {string.Join(", ", MetricOptions.Names)}.", DefaultValueFactory = _ => string.Join(',', MetricOptions.Names) };
        var output = new Option<DirectoryInfo>("--out") { Description = "Report folder (created if missing).", Required = true };
        var limit = new Option<int?>("--limit") { Description = "Evaluate only the first N items." };
        var batch = new Option<int>("--batch") { Description = "Items per batch.", DefaultValueFactory = _ => 8 };
        var layer = new Option<string?>("--layer") { Description = "ONNX value name(s) of the CAM layer(s), comma-separated; default: the last 4-D activation before global pooling." };
        var denoise = new Option<string?>("--denoise") { Description = "Gradient truncation of shallow-layer CAMs: floor (default when given), ceil, rectify, backprop.", Arity = ArgumentArity.ZeroOrOne };
        denoise.AcceptOnlyFromAmong("floor", "ceil", "rectify", "backprop");
        var denoiseQ = new Option<float>("--denoise-q") { Description = "Quantile q of the truncation.", DefaultValueFactory = _ => 0.7f };
        var steps = new Option<int>("--steps") { Description = "Deletion and insertion steps.", DefaultValueFactory = _ => 16 };
        var deletionBaseline = new Option<string>("--deletion-baseline") { Description = "What deleted pixels become: zero, mean, blur.", DefaultValueFactory = _ => "zero" };
        var insertionBaseline = new Option<string>("--insertion-baseline") { Description = "What insertion starts from: zero, mean, blur.", DefaultValueFactory = _ => "blur" };
        deletionBaseline.AcceptOnlyFromAmong("zero", "mean", "blur");
        insertionBaseline.AcceptOnlyFromAmong("zero", "mean", "blur");
        var road = new Option<string>("--road-percentages") { Description = "ROAD's percentages of removed pixels, comma-separated.", DefaultValueFactory = _ => string.Join(',', Road.DefaultPercentages) };
        var tolerance = new Option<double>("--tolerance") { Description = "Pointing-game tolerance in pixels of the model input.", DefaultValueFactory = _ => PointingGame.DefaultTolerance };
        var maskRule = new Option<string>("--mask-rule") { Description = "Pseudo masks for mIoU: argmax (background score = --threshold) or threshold (per class).", DefaultValueFactory = _ => "argmax" };
        maskRule.AcceptOnlyFromAmong("argmax", "threshold");
        var threshold = new Option<float>("--threshold") { Description = "Map threshold of the pseudo masks.", DefaultValueFactory = _ => SaliencyRenderer.DefaultThreshold };
        var sanitySteps = new Option<int>("--sanity-steps") { Description = "Cascade depths of the sanity check, evenly spaced up to every layer randomised.", DefaultValueFactory = _ => 4 };
        var innerBatch = new Option<int>("--inner-batch") { Description = "Perturbed or masked inputs per forward pass.", DefaultValueFactory = _ => 32 };
        var seed = new Option<int>("--seed") { Description = "Seeds the sampling methods (RISE, GradientSHAP, DeepLIFT-SHAP, Random-CAM), SmoothGrad's noise, ROAD's noise and the sanity check's random weights." };
        var parameters = new Option<string[]>("--param") { Description = "A method's own parameter NAME=VALUE, repeatable; given to each method that has it (docs/methods.md lists them)." };
        var device = DeviceOption.Create();
        var examples = new Option<int>("--examples") { Description = "Items shown in the report's example grid.", DefaultValueFactory = _ => 4 };

        var command = new Command("eval", "Score explanation methods on a scenes dataset: deletion, insertion, ROAD, pointing games, selectivity, mIoU and the sanity check.")
        {
            model, methods, dataset, metrics, output, limit, batch, layer, denoise, denoiseQ, steps, deletionBaseline, insertionBaseline, road, tolerance, maskRule, threshold,
            sanitySteps, innerBatch, seed, examples, parameters, device,
        };
        command.SetAction(r =>
        {
            var settings = new Settings(
                new PipelineText(
                    PipelineArguments.Split(r.GetValue(methods)),
                    Layers: PipelineArguments.Split(r.GetValue(layer)),
                    Denoise: r.GetResult(denoise) is null ? null : r.GetValue(denoise) ?? "floor",
                    DenoiseQuantile: r.GetValue(denoiseQ),
                    Seed: r.GetValue(seed)),
                r.GetValue(parameters) ?? [],
                r.GetValue(limit),
                r.GetValue(batch),
                r.GetValue(examples));
            return Run(r.GetValue(model)!, r.GetValue(device), r.GetValue(dataset)!, r.GetValue(output)!, settings, () => new MetricOptions
            {
                Metrics = PipelineArguments.Split(r.GetValue(metrics)),
                Steps = r.GetValue(steps),
                DeletionBaseline = Enum.Parse<PerturbationBaseline>(r.GetValue(deletionBaseline)!, ignoreCase: true),
                InsertionBaseline = Enum.Parse<PerturbationBaseline>(r.GetValue(insertionBaseline)!, ignoreCase: true),
                RoadPercentages = [.. PipelineArguments.Split(r.GetValue(road)).Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : throw new FormatException($"--road-percentages: '{p}' is not a whole number."))],
                PointingTolerance = r.GetValue(tolerance),
                MaskRule = Enum.Parse<PseudoMaskRule>(r.GetValue(maskRule)!, ignoreCase: true),
                MaskThreshold = r.GetValue(threshold),
                SanitySteps = r.GetValue(sanitySteps),
                InnerBatch = r.GetValue(innerBatch),
                Seed = r.GetValue(seed),
            });
        });
        return command;
    }

    /// <summary>Exit code 0 when every item was evaluated, 2 when some failed, 1 when the command, model or dataset is unusable.</summary>
    private static int Run(FileInfo modelFile, Device device, FileInfo datasetFile, DirectoryInfo outDir, Settings settings, Func<MetricOptions> parseOptions)
    {
        Model model;
        InputLoader loader;
        EvalPipeline pipeline;
        MetricOptions options;
        IReadOnlyList<SceneItem> records;
        try
        {
            if (settings.Batch <= 0 || settings.Limit < 0 || settings.Examples < 0)
            {
                throw new ArgumentException("--batch must be positive, --limit and --examples not negative.");
            }

            options = parseOptions();
            var shared = PipelineArguments.Parse(settings.Pipeline, settings.Parameters, OptionNames);
            (model, loader) = InputLoader.Open(modelFile.FullName, device);
            options = options with { Scores = ClassScores.For(loader.Card) };
            pipeline = new EvalPipeline(model, loader.Card, shared.ExplainerOptions(), options);
            records = JsonLines.Read(datasetFile.FullName, "Dataset", "{\"image\": ..., \"objects\": [{\"class\", \"mask\"}]}", root => new SceneItem(
                root.GetProperty("image").GetString() ?? throw new InvalidOperationException("\"image\" is null"),
                root.TryGetProperty("objects", out var objects) ? [.. objects.EnumerateArray().Select(o => (o.GetProperty("class").GetInt32(), o.GetProperty("mask").GetString()!))] : []));
        }
        catch (Exception e) when (e is ModelException or InvalidDataException or ArgumentException or FormatException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }

        records = [.. records.Take(settings.Limit ?? int.MaxValue)];
        var root = datasetFile.DirectoryName!;
        var accumulator = new MetricAccumulator();
        var gallery = new List<ReportExample>();
        var failed = 0;
        try
        {
            Directory.CreateDirectory(outDir.FullName);
            using (var stream = new FileStream(Path.Combine(outDir.FullName, "items.jsonl"), FileMode.Create, FileAccess.Write, FileShare.Read))
            {
                Progress.Run("eval", records.Count, report =>
                {
                    var done = 0;
                    // The next chunk (masks and images) decodes while this one is evaluated; each batch is this loop's to dispose.
                    var preprocessor = new ImagePreprocessor(loader.Card);
                    foreach (var (chunk, loaded) in BatchPrefetch.Load(records.Chunk(settings.Batch), chunk => LoadChunk(loader, preprocessor, root, chunk), BatchPrefetch.DefaultFor(model.Device)))
                    {
                        using (loaded)
                        {
                            failed += EvaluateChunk(pipeline, model, loader, preprocessor, options.Scores, chunk, loaded, accumulator, stream, gallery, settings.Examples);
                        }

                        done += chunk.Length;
                        stream.Flush();
                        report(done, failed);
                    }
                });
            }

            var summary = new EvalSummary(model.Name, datasetFile.FullName, records.Count, pipeline.Evaluator.Methods, options, loader.Card.Labels, accumulator);
            EvalReport.Write(outDir.FullName, summary, gallery);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: cannot write {outDir.FullName}: {e.Message}");
            return 1;
        }
        finally
        {
            foreach (var example in gallery)
            {
                example.Dispose();
            }
        }

        Console.WriteLine($"{records.Count - failed} of {records.Count} items evaluated with {string.Join(", ", pipeline.Evaluator.Methods)}; report in {Path.Combine(outDir.FullName, "report.html")}");
        return failed == 0 ? 0 : 2;
    }

    /// <summary>Loads one chunk: its items' masks (a mask that cannot be read fails its item alone) and images.</summary>
    private static EvalBatch LoadChunk(InputLoader loader, ImagePreprocessor preprocessor, string root, SceneItem[] chunk)
    {
        var inputs = chunk.Select(item =>
        {
            try
            {
                return new EvalInput(item.Image, [.. item.Objects.Select(o => new EvaluationObject(o.Class, LoadMask(preprocessor, Path.Combine(root, o.Mask))))]);
            }
            catch (Exception e) when (e is ImageDecodeException or InvalidDataException or IOException or UnauthorizedAccessException)
            {
                return new EvalInput(item.Image, [], $"Input '{item.Image}': {e.Message}");
            }
        }).ToArray();

        return new EvalBatch(inputs, InputBatch.Load(loader, [.. chunk.Select(item => Path.Combine(root, item.Image))]));
    }

    /// <summary>Evaluates one loaded chunk and writes its manifest records; returns how many items failed for some method.</summary>
    private static int EvaluateChunk(EvalPipeline pipeline, Model model, InputLoader loader, ImagePreprocessor preprocessor, ClassScores scores, SceneItem[] chunk,
        EvalBatch loaded, MetricAccumulator accumulator, Stream manifest, List<ReportExample> gallery, int examples)
    {
        var (inputs, batch) = (loaded.Inputs, loaded.Images);
        IReadOnlyList<ManifestRecord> records = [];
        if (batch.Tensor is null)
        {
            records = pipeline.Evaluate(batch, inputs, accumulator);
        }
        else
        {
            // The gallery shows what the model predicts beside the truth: one more forward pass, only while it fills.
            using var onDevice = gallery.Count < examples ? model.Forward(batch.Tensor) : null;
            using var logits = onDevice?.ToHost();
            string LabelOf(int k) => k < loader.Card.Labels.Count ? loader.Card.Labels[k] : $"class {k}";
            (string, double)[] Predicted(int row)
            {
                var classes = logits!.Length / logits.Dim(0);
                var probabilities = scores.Probabilities(logits.Span.Slice(row * classes, classes));
                return [.. scores.Predicted(probabilities).Select(k => (LabelOf(k), probabilities[k]))];
            }

            records = pipeline.Evaluate(batch, inputs, accumulator, (input, method, explanation) =>
            {
                var item = chunk[input].Image;
                var example = gallery.Find(g => g.Item == item);
                if (example is null && gallery.Count < examples)
                {
                    var label = explanation.Class < loader.Card.Labels.Count ? loader.Card.Labels[explanation.Class] : null;
                    var truth = inputs[input].Objects.Select(o => o.Class).Distinct().Select(LabelOf).ToArray();
                    var row = batch.RowOf(input);
                    gallery.Add(example = new ReportExample(item, explanation.Class, label, Seen(preprocessor, batch.Tensor, row), truth, Predicted(row)));
                }

                // The first target's map, when it can be drawn (a NaN map is the item's error, reported elsewhere).
                if (example is not null && explanation.Class == example.Class && explanation.IsFinite)
                {
                    example.AddOverlay(method, explanation.Map.Span);
                }
            });
        }

        foreach (var record in records)
        {
            manifest.Write(record.ToJsonLine());
        }

        return records.Where(r => r.Error is not null).Select(r => r.Item).Distinct(StringComparer.Ordinal).Count();
    }

    private static bool[] LoadMask(ImagePreprocessor preprocessor, string path)
    {
        using var mask = RgbImage.Load(path);
        return preprocessor.Mask(mask);
    }

    /// <summary>The picture the model saw in row <paramref name="row"/> of the batch.</summary>
    private static RgbImage Seen(ImagePreprocessor preprocessor, Tensor batch, int row)
    {
        var size = batch.Length / batch.Dim(0);
        using var input = Tensor.FromSpan(batch.Span.Slice(row * size, size), batch.Shape[1..]);
        return preprocessor.Denormalize(input);
    }

    /// <summary>A line of the scenes manifest (SceneWriter's format): the image and its objects' classes and mask files, relative to the manifest.</summary>
    private sealed record SceneItem(string Image, IReadOnlyList<(int Class, string Mask)> Objects);

    private sealed record Settings(PipelineText Pipeline, string[] Parameters, int? Limit, int Batch, int Examples);
}
