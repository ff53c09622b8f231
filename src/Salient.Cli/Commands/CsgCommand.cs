using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Salient.Engine;
using Salient.Imaging;
using Salient.Imaging.Datasets;
using Salient.Training.Csg;
using Salient.Methods.Internal;
using Salient.Training;

namespace Salient.Cli.Commands;

/// <summary><c>salient csg analyze</c>: class specificity of a model's last conv layer (MIS, gate density, per-filter classes).</summary>
internal static class CsgCommand
{
    public static Command Create()
    {
        var model = new Option<FileInfo>("--model") { Description = "The ONNX model (trained with or without --csg); its card beside it gives preprocessing.", Required = true };
        var dataset = new Option<string>("--dataset") { Description = "fashion-mnist, scenes, or a folder/manifest; its validation part is analysed (Fashion-MNIST: the test split).", Required = true };
        var count = new Option<int>("--count") { Description = "Analyse at most this many images.", DefaultValueFactory = _ => 2000 };
        var seed = new Option<int>("--seed") { Description = "Scenes: the seed the scenes were generated with; folders: the split seed.", DefaultValueFactory = _ => 0 };
        var datasetDir = new Option<DirectoryInfo>("--dataset-dir") { Description = "The folder of Fashion-MNIST IDX files.", DefaultValueFactory = _ => new DirectoryInfo(FashionMnist.DefaultDirectory) };
        var output = new Option<FileInfo>("--out") { Description = "Also write the full report (MI matrix, per-filter table) as JSON here." };
        var analyze = new Command("analyze", "Report MIS (raw and normalised), gate density, one-hot fraction and each filter's class.") { model, dataset, count, seed, datasetDir, output };
        analyze.SetAction(r => Run(r.GetValue(model)!, r.GetValue(dataset)!, r.GetValue(count), r.GetValue(seed), r.GetValue(datasetDir)!, r.GetValue(output)));
        return new Command("csg", "Class-specific gate (CSG) tools.") { analyze };
    }

    /// <summary>Exit code 0 when the report was made, 1 when the model, card or dataset is unusable.</summary>
    private static int Run(FileInfo modelFile, string datasetName, int count, int seed, DirectoryInfo datasetDir, FileInfo? output)
    {
        try
        {
            var (model, loader) = InputLoader.Open(modelFile.FullName);
            var card = loader.Card;
            var data = TrainingData.Open(new TrainingData.Settings(datasetName, datasetDir.FullName, 0, count, 0.1, card.Height, card.Channels, seed));
            var set = data.Validation;
            if (set.Channels != card.Channels || set.Height != card.Height || set.Width != card.Width)
            {
                throw new InvalidDataException($"Dataset '{datasetName}' gives [{set.Channels},{set.Height},{set.Width}] images; model '{model.Name}' takes [{card.Channels},{card.Height},{card.Width}].");
            }

            var pool = CsgGate.GatedValue(model.Graph, "csg analyze");
            var gate = CsgGate.FromJson(model.Metadata.GetValueOrDefault(CsgGate.MetadataKey), modelFile.Name);
            // One pass gives the ungated scores and the pooled features MIS is measured on.
            var labels = new IReadOnlyList<int>[set.Count];
            float[]? features = null;
            var filters = 0;
            var scores = ClassifierTrainer.Evaluate(model, set, [.. card.Mean], [.. card.Std], pool, (start, pooled, batchLabels) =>
            {
                filters = pooled.Length / batchLabels.Length;
                features ??= new float[set.Count * filters];
                pooled.Span.CopyTo(features.AsSpan(start * filters));
                batchLabels.CopyTo(labels, start);
            });
            var analysis = CsgAnalysis.FromMatrices(Information(features!, filters, labels, set.ClassNames.Count), gate is null ? null : ToMatrix(gate));
            Print(analysis, scores, model.Name, set, gate is not null);
            if (output is not null)
            {
                File.WriteAllText(output.FullName, JsonSerializer.Serialize(Report(analysis, scores)));
            }

            return 0;
        }
        catch (Exception e) when (e is ModelException or InvalidDataException or IOException or ArgumentException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }

    /// <summary>M[c, k] = I(a_k; 1[c ∈ labels]): one-vs-rest per class, which for single-label sets is the spec's definition.</summary>
    private static double[,] Information(float[] features, int filters, IReadOnlyList<int>[] labels, int classes)
    {
        var matrix = new double[classes, filters];
        var target = new int[labels.Length];
        for (var c = 0; c < classes; c++)
        {
            for (var i = 0; i < labels.Length; i++)
            {
                target[i] = labels[i].Contains(c) ? 1 : 0;
            }

            var column = MutualInformation.Classif(features, filters, target);
            for (var k = 0; k < filters; k++)
            {
                matrix[c, k] = column[k];
            }
        }

        return matrix;
    }

    private static double[,] ToMatrix(CsgGate gate)
    {
        var matrix = new double[gate.Filters, gate.Classes];
        for (var k = 0; k < gate.Filters; k++)
        {
            for (var c = 0; c < gate.Classes; c++)
            {
                matrix[k, c] = gate.Gate[(k * gate.Classes) + c];
            }
        }

        return matrix;
    }

    private static void Print(CsgAnalysis a, ValidationScores scores, string model, LabeledImageSet set, bool gated)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"model {model}: {a.Filters.Count} filters, {set.ClassNames.Count} classes, {set.Count} images"));
        Console.WriteLine(string.Create(inv, $"accuracy {scores.Accuracy:F4}{(scores.MeanAveragePrecision is { } map ? $", mAP {map:F4}" : string.Empty)} (ungated)"));
        Console.WriteLine(string.Create(inv, $"MIS {a.MutualInformationScore:F4} nats, normalised MIS {a.NormalizedMutualInformationScore:F4}"));
        if (gated)
        {
            Console.WriteLine(string.Create(inv, $"gate density {a.GateDensity:F4}, one-hot filters {a.OneHotFraction:P1}"));
        }
        else
        {
            Console.WriteLine("no CSG gate in this model (trained without --csg)");
        }

        Console.WriteLine("filter  gate-class        gate   informative-class  MI");
        foreach (var f in a.Filters)
        {
            var gateClass = f.GateClass is { } g ? set.ClassNames[g] : "-";
            Console.WriteLine(string.Create(inv, $"{f.Filter,6}  {gateClass,-16}  {f.GateValue?.ToString("F2", inv) ?? "-",5}   {set.ClassNames[f.InformativeClass],-17}  {f.MutualInformation:F4}"));
        }
    }

    private static Dictionary<string, object?> Report(CsgAnalysis a, ValidationScores scores)
    {
        var (classes, filters) = (a.InformationMatrix.GetLength(0), a.InformationMatrix.GetLength(1));
        return new Dictionary<string, object?>
        {
            ["accuracy"] = scores.Accuracy,
            ["map"] = scores.MeanAveragePrecision,
            ["images"] = scores.Images,
            ["mis"] = a.MutualInformationScore,
            ["mis_normalised"] = a.NormalizedMutualInformationScore,
            ["gate_density"] = a.GateDensity,
            ["one_hot_fraction"] = a.OneHotFraction,
            ["filters"] = a.Filters,
            ["mutual_information"] = Enumerable.Range(0, classes).Select(c => Enumerable.Range(0, filters).Select(k => a.InformationMatrix[c, k]).ToArray()).ToArray(),
        };
    }
}
