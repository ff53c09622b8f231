using Salient.Engine;
using Salient.Imaging;
using Salient.Methods.Metrics;

namespace Salient.Methods.Pipeline;

/// <summary>An input of an evaluation batch: its name, its annotated objects, or why they could not be read.</summary>
/// <param name="Name">The item as the run names it (a path, a blob name).</param>
/// <param name="Objects">Its objects (classes and masks); none for a plain image, whose top-1 class is explained.</param>
/// <param name="Error">Why the item cannot be evaluated (a mask that failed to load), or null.</param>
public sealed record EvalInput(string Name, IReadOnlyList<EvaluationObject> Objects, string? Error = null);

/// <summary>A loaded evaluation batch: its inputs with their objects' masks, and their images; disposing it frees the images.</summary>
/// <param name="Inputs">The inputs, in order.</param>
/// <param name="Images">Their images, decoded into one batch.</param>
public sealed record EvalBatch(IReadOnlyList<EvalInput> Inputs, InputBatch Images) : IDisposable
{
    /// <inheritdoc/>
    public void Dispose() => Images.Dispose();
}

/// <summary>
/// The evaluation pipeline <c>salient eval</c> and a cluster worker share: a loaded batch of inputs is
/// explained with every method and scored (<see cref="MetricEvaluator"/>), the results go into a
/// <see cref="MetricAccumulator"/>, and each item × method × target becomes a manifest record. An
/// item that fails (input, mask, map) costs only its own records and counts as failed.
/// </summary>
public sealed class EvalPipeline
{
    private readonly IReadOnlyList<string> _labels;

    /// <summary>Checks the options and makes the evaluator (probabilities read as the card says); throws <see cref="ArgumentException"/> naming what is wrong.</summary>
    public EvalPipeline(Model model, ModelCard card, IReadOnlyList<ExplainOptions> methods, MetricOptions metrics)
    {
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(metrics);
        Evaluator = new MetricEvaluator(model, methods, metrics with { Scores = ClassScores.For(card) });
        _labels = card.Labels;
    }

    /// <summary>The evaluator: its methods and explainers.</summary>
    public MetricEvaluator Evaluator { get; }

    /// <summary>
    /// Evaluates the loaded inputs of <paramref name="batch"/> whose <paramref name="inputs"/> have no error,
    /// adds them to <paramref name="accumulator"/>, and returns the records of every input (per input, then
    /// method, then target). <paramref name="onExplanation"/> sees each original map with its input's index.
    /// </summary>
    public IReadOnlyList<ManifestRecord> Evaluate(InputBatch batch, IReadOnlyList<EvalInput> inputs, MetricAccumulator accumulator,
        Action<int, string, Explanation>? onExplanation = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(accumulator);
        var inputsOfRows = batch.Loaded.Where(i => inputs[i].Error is null).ToArray();
        var results = new List<ItemEvaluation>();
        if (inputsOfRows.Length > 0)
        {
            using var subset = inputsOfRows.Length == batch.Loaded.Count ? null : Rows(batch, inputsOfRows);
            results.AddRange(Evaluator.Evaluate(subset ?? batch.Tensor!, [.. inputsOfRows.Select(i => new EvaluationItem(inputs[i].Name, inputs[i].Objects))], accumulator,
                onExplanation is null ? null : (row, method, explanation) => onExplanation(inputsOfRows[row], method, explanation)));
        }

        var records = new List<ManifestRecord>();
        for (var i = 0; i < inputs.Count; i++)
        {
            var row = Array.IndexOf(inputsOfRows, i);
            foreach (var explainer in Evaluator.Explainers)
            {
                var (item, method, layer) = (inputs[i].Name, explainer.Options.Method, BatchExplainer.LayerLabel(explainer));
                if (row < 0)
                {
                    accumulator.CountItem(method, failed: true);
                    records.Add(new ManifestRecord(item, method, layer, null, null, null, null, inputs[i].Error ?? batch.Errors[i]));
                    continue;
                }

                var result = results.Single(r => r.Item == row && r.Method == method);
                if (result.Error is not null || result.Targets.Count == 0)
                {
                    records.Add(new ManifestRecord(item, method, layer, null, null, null, null, result.Error ?? $"Input '{item}': no target to evaluate."));
                }

                foreach (var target in result.Targets)
                {
                    var metrics = target.Scores.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => Math.Round(kv.Value, 6), StringComparer.Ordinal);
                    if (result.MeanIoU is { } iou)
                    {
                        metrics["miou"] = Math.Round(iou, 6);
                    }

                    records.Add(new ManifestRecord(item, method, layer, target.Class, target.Class < _labels.Count ? _labels[target.Class] : null,
                        Math.Round(target.Probability, 6), null, null, metrics));
                }
            }
        }

        return records;
    }

    /// <summary>The batch rows of the given inputs, as a batch of their own.</summary>
    private static Tensor Rows(InputBatch batch, int[] inputs)
    {
        var all = batch.Tensor!;
        var size = all.Length / all.Dim(0);
        var result = Tensor.Uninitialized([inputs.Length, .. all.Shape[1..]]);
        for (var j = 0; j < inputs.Length; j++)
        {
            all.Span.Slice(batch.RowOf(inputs[j]) * size, size).CopyTo(result.Span.Slice(j * size, size));
        }

        return result;
    }
}
