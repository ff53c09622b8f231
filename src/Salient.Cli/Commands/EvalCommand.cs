using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Salient.Cli.Reports;
using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Imaging;
using Salient.Methods;
using Salient.Methods.Metrics;

namespace Salient.Cli.Commands;

/// <summary>
/// <c>salient eval</c>: explanation-quality metrics of several methods over a scenes dataset, batch by
/// batch into one <see cref="MetricAccumulator"/>; writes DIR/items.jsonl, DIR/metrics.json and a report with plots.
/// </summary>
internal static class EvalCommand
{
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
        var seed = new Option<int>("--seed") { Description = "Seeds ROAD's noise and the sanity check's random weights." };
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
                r.GetValue(methods)!,
                r.GetValue(layer)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [],
                r.GetResult(denoise) is null ? null : Enum.Parse<DenoiseMode>(r.GetValue(denoise) ?? "floor", ignoreCase: true),
                r.GetValue(denoiseQ),
                r.GetValue(limit),
                r.GetValue(batch),
                r.GetValue(examples),
                r.GetValue(parameters) ?? []);
            return Run(r.GetValue(model)!, r.GetValue(device), r.GetValue(dataset)!, r.GetValue(output)!, settings, () => new MetricOptions
            {
                Metrics = Split(r.GetValue(metrics)!),
                Steps = r.GetValue(steps),
                DeletionBaseline = Enum.Parse<PerturbationBaseline>(r.GetValue(deletionBaseline)!, ignoreCase: true),
                InsertionBaseline = Enum.Parse<PerturbationBaseline>(r.GetValue(insertionBaseline)!, ignoreCase: true),
                RoadPercentages = [.. Split(r.GetValue(road)!).Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : throw new FormatException($"--road-percentages: '{p}' is not a whole number."))],
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
        MetricEvaluator evaluator;
        MetricOptions options;
        IReadOnlyList<SceneItem> records;
        try
        {
            if (settings.Batch <= 0 || settings.Limit < 0 || settings.Examples < 0)
            {
                throw new ArgumentException("--batch must be positive, --limit and --examples not negative.");
            }

            options = parseOptions();
            (model, loader) = InputLoader.Open(modelFile.FullName, device);
            options = options with { Scores = ClassScores.For(loader.Card) };
            var methodNames = Split(settings.Methods);
            var parameters = ExplanationMethods.ParseParameters(settings.Parameters);
            if (parameters.Keys.FirstOrDefault(k => !methodNames.Any(m => Declares(m, k))) is { } stray)
            {
                throw new ArgumentException($"--param {stray}: none of {settings.Methods} has a parameter '{stray}'.");
            }

            var explainOptions = methodNames.Select(m => new ExplainOptions
            {
                Method = m, Layers = settings.Layers, Denoise = settings.Denoise, DenoiseQuantile = settings.DenoiseQuantile,
                Parameters = parameters.Where(p => Declares(m, p.Key)).ToDictionary(),
            }).ToArray();
            evaluator = new MetricEvaluator(model, explainOptions, options);
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
                var lines = new JsonLines(stream);
                Progress.Run("eval", records.Count, report =>
                {
                    var done = 0;
                    foreach (var chunk in records.Chunk(settings.Batch))
                    {
                        failed += EvaluateChunk(evaluator, model, loader, options.Scores, root, chunk, accumulator, lines, gallery, settings.Examples);
                        done += chunk.Length;
                        stream.Flush();
                        report(done, failed);
                    }
                });
            }

            var summary = new EvalSummary(model.Name, datasetFile.FullName, records.Count, evaluator.Methods, options, loader.Card.Labels, accumulator);
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

        Console.WriteLine($"{records.Count - failed} of {records.Count} items evaluated with {string.Join(", ", evaluator.Methods)}; report in {Path.Combine(outDir.FullName, "report.html")}");
        return failed == 0 ? 0 : 2;
    }

    /// <summary>Evaluates one chunk of records and writes their lines; returns how many items failed for some method.</summary>
    private static int EvaluateChunk(MetricEvaluator evaluator, Model model, InputLoader loader, ClassScores scores, string root, SceneItem[] chunk, MetricAccumulator accumulator,
        JsonLines lines, List<ReportExample> gallery, int examples)
    {
        var errors = new string?[chunk.Length];
        var objects = new EvaluationObject[chunk.Length][];
        var preprocessor = new ImagePreprocessor(loader.Card);
        for (var i = 0; i < chunk.Length; i++)
        {
            try
            {
                objects[i] = [.. chunk[i].Objects.Select(o => new EvaluationObject(o.Class, LoadMask(preprocessor, Path.Combine(root, o.Mask))))];
            }
            catch (Exception e) when (e is ImageDecodeException or InvalidDataException or IOException or UnauthorizedAccessException)
            {
                errors[i] = e.Message;
            }
        }

        var withMasks = Enumerable.Range(0, chunk.Length).Where(i => errors[i] is null).ToArray();
        using var batch = InputBatch.Load(loader, [.. withMasks.Select(i => Path.Combine(root, chunk[i].Image))]);
        for (var j = 0; j < withMasks.Length; j++)
        {
            errors[withMasks[j]] ??= batch.Errors[j];
        }

        var rows = batch.Loaded.Select(j => withMasks[j]).ToArray();
        var results = new List<ItemEvaluation>();
        if (batch.Tensor is not null)
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

            var items = rows.Select(i => new EvaluationItem(chunk[i].Image, objects[i])).ToArray();
            results.AddRange(evaluator.Evaluate(batch.Tensor, items, accumulator, (row, method, explanation) =>
            {
                var item = chunk[rows[row]].Image;
                var example = gallery.Find(g => g.Item == item);
                if (example is null && gallery.Count < examples)
                {
                    var label = explanation.Class < loader.Card.Labels.Count ? loader.Card.Labels[explanation.Class] : null;
                    var truth = objects[rows[row]].Select(o => o.Class).Distinct().Select(LabelOf).ToArray();
                    gallery.Add(example = new ReportExample(item, explanation.Class, label, Seen(preprocessor, batch.Tensor, row), truth, Predicted(row)));
                }

                // The first target's map, when it can be drawn (a NaN map is the item's error, reported elsewhere).
                if (example is not null && explanation.Class == example.Class && explanation.IsFinite)
                {
                    example.AddOverlay(method, explanation.Map.Span);
                }
            }));
        }

        var failed = 0;
        for (var i = 0; i < chunk.Length; i++)
        {
            var row = Array.IndexOf(rows, i);
            if (row < 0)
            {
                foreach (var method in evaluator.Methods)
                {
                    accumulator.CountItem(method, failed: true);
                }

                lines.WriteError(chunk[i].Image, errors[i]!);
                failed++;
                continue;
            }

            var mine = results.Where(r => r.Item == row).ToList();
            failed += mine.Any(r => r.Error is not null) ? 1 : 0;
            foreach (var result in mine)
            {
                WriteResult(lines, chunk[i].Image, result, loader.Card.Labels);
            }
        }

        return failed;
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

    private static void WriteResult(JsonLines lines, string item, ItemEvaluation result, IReadOnlyList<string> labels) => lines.Write(json =>
    {
        json.WriteString("input", item);
        json.WriteString("method", result.Method);
        if (result.Error is not null)
        {
            json.WriteString("error", result.Error);
            return;
        }

        json.WriteStartArray("targets");
        foreach (var target in result.Targets)
        {
            json.WriteStartObject();
            json.WriteNumber("class", target.Class);
            json.WriteString("label", target.Class < labels.Count ? labels[target.Class] : null);
            json.WriteNumber("probability", target.Probability);
            foreach (var (metric, value) in target.Scores.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                json.WriteNumber(metric, Math.Round(value, 6));
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        if (result.MeanIoU is { } iou)
        {
            json.WriteNumber("miou", Math.Round(iou, 6));
        }
    });

    private static string[] Split(string list) => list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>A line of the scenes manifest (SceneWriter's format): the image and its objects' classes and mask files, relative to the manifest.</summary>
    private sealed record SceneItem(string Image, IReadOnlyList<(int Class, string Mask)> Objects);

    private static bool Declares(string method, string parameter) => ExplanationMethods.Find(method).Parameters.Any(p => p.Name == parameter);

    private sealed record Settings(string Methods, string[] Layers, DenoiseMode? Denoise, float DenoiseQuantile, int? Limit, int Batch, int Examples, string[] Parameters);
}
