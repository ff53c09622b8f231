using System.CommandLine;
using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Imaging;
using Salient.Methods;

namespace Salient.Cli.Commands;

/// <summary><c>salient predict</c>: classify images or tensors and write one JSON line per input.</summary>
internal static class PredictCommand
{
    private const int TopK = 5;

    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "The ONNX model; a model card <model>.json beside it sets preprocessing and labels.", Required = true };
        var batch = new Option<int>("--batch") { Description = "Inputs per forward pass.", DefaultValueFactory = _ => 8 };
        batch.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() <= 0)
            {
                r.AddError("--batch must be a positive number.");
            }
        });
        var output = new Option<DirectoryInfo>("--out") { Description = "Folder for predictions.jsonl (created if missing).", Required = true };
        var inputs = new Argument<string[]>("INPUT") { Description = "Image files (JPEG, PNG), folders (searched recursively), or .npy tensors [C,H,W] / [1,C,H,W] used as is.", Arity = ArgumentArity.OneOrMore };

        var device = DeviceOption.Create();
        var command = new Command("predict", "Classify inputs and write DIR/predictions.jsonl.") { model, batch, output, device, inputs };
        command.SetAction(result => Run(result.GetValue(model)!, result.GetValue(device), result.GetValue(batch), result.GetValue(output)!, result.GetValue(inputs)!));
        return command;
    }

    /// <summary>Exit code 0 when every input succeeded, 2 when some failed, 1 when the model or command is unusable.</summary>
    private static int Run(FileInfo modelFile, Device device, int batchSize, DirectoryInfo outDir, string[] arguments)
    {
        Model model;
        InputLoader loader;
        try
        {
            (model, loader) = InputLoader.Open(modelFile.FullName, device);
        }
        catch (Exception e) when (e is ModelException or InvalidDataException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }

        var items = InputFiles.Expand(arguments);
        Directory.CreateDirectory(outDir.FullName);
        var resultPath = Path.Combine(outDir.FullName, "predictions.jsonl");
        var failed = 0;
        var labels = loader.Card.Labels;
        var scores = ClassScores.For(loader.Card);
        using (var stream = new FileStream(resultPath, FileMode.Create, FileAccess.Write, FileShare.Read))
        {
            var lines = new JsonLines(stream);
            Progress.Run("predict", items.Count, report =>
            {
                var done = 0;
                foreach (var chunk in items.Chunk(batchSize))
                {
                    var logits = Logits(model, loader, chunk);
                    for (var i = 0; i < chunk.Length; i++)
                    {
                        var error = logits[i].Error ?? (logits[i].Values!.All(float.IsFinite) ? null : "the logits contain NaN or infinity");
                        if (error is null)
                        {
                            WriteResult(lines, chunk[i], logits[i].Values!, scores, labels);
                        }
                        else
                        {
                            lines.WriteError(chunk[i], error);
                            failed++;
                        }
                    }

                    done += chunk.Length;
                    stream.Flush();
                    report(done, failed);
                }
            });
        }

        Console.WriteLine($"{items.Count - failed} of {items.Count} inputs predicted; results in {resultPath}");
        return failed == 0 ? 0 : 2;
    }

    /// <summary>Per input, in order: its logits, or the error that stopped it.</summary>
    private static (float[]? Values, string? Error)[] Logits(Model model, InputLoader loader, string[] inputs)
    {
        using var batch = InputBatch.Load(loader, inputs);
        var results = batch.Errors.Select(e => ((float[]?)null, e)).ToArray();
        if (batch.Tensor is null)
        {
            return results;
        }

        try
        {
            // The logits leave the model's device once, to be written.
            using var onDevice = model.Forward(batch.Tensor);
            using var logits = onDevice.ToHost();
            var classes = logits.Length / batch.Loaded.Count;
            for (var j = 0; j < batch.Loaded.Count; j++)
            {
                results[batch.Loaded[j]] = (logits.Span.Slice(j * classes, classes).ToArray(), null);
            }
        }
        catch (ModelException e)
        {
            foreach (var i in batch.Loaded)
            {
                results[i] = (null, e.Message);
            }
        }

        return results;
    }

    private static void WriteResult(JsonLines lines, string input, float[] logits, ClassScores classScores, IReadOnlyList<string> labels)
    {
        var scores = classScores.Probabilities(logits);
        lines.Write(json =>
        {
            json.WriteString("input", input);
            json.WriteStartArray("logits");
            foreach (var v in logits)
            {
                json.WriteNumberValue(v);
            }

            json.WriteEndArray();
            json.WriteStartArray("top");
            foreach (var k in classScores.Top(scores, TopK))
            {
                json.WriteStartObject();
                json.WriteNumber("class", k);
                json.WriteString("label", k < labels.Count ? labels[k] : null);
                json.WriteNumber("score", scores[k]);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteString("scores", classScores.Name);
        });
    }
}
