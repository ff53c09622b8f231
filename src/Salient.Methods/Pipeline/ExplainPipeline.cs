using Salient.Engine;
using Salient.Imaging;

namespace Salient.Methods.Pipeline;

/// <summary>A file an explained batch writes, by its path relative to the run's root (<see cref="ManifestRecord.OutputPath"/>).</summary>
/// <param name="Path">Where it goes, e.g. <c>items/img_cat.jpg/gradcam-c3.png</c>.</param>
/// <param name="Content">Its bytes.</param>
public sealed record OutputFile(string Path, byte[] Content);

/// <summary>An explained batch: its manifest records (per input, then per method, then per target) and the files they name.</summary>
/// <param name="Records">The records, failed inputs and targets included.</param>
/// <param name="Files">The output files of the records without an error.</param>
public sealed record ExplainedBatch(IReadOnlyList<ManifestRecord> Records, IReadOnlyList<OutputFile> Files);

/// <summary>
/// The explain pipeline <c>salient explain</c> and a cluster worker share: a loaded batch of inputs is
/// explained with every method, rendered, and turned into manifest records and files; where they go
/// (a folder, a blob store) is the caller's part. An input that fails costs only its own records.
/// </summary>
public sealed class ExplainPipeline
{
    private readonly Explainer[] _explainers;
    private readonly ModelCard _card;
    private readonly RenderOptions _rendering;

    /// <summary>Makes an explainer per method (the probabilities read as the card says); throws <see cref="ArgumentException"/> naming a bad option.</summary>
    public ExplainPipeline(Model model, ModelCard card, IReadOnlyList<ExplainOptions> methods, RenderOptions rendering)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(methods);
        ArgumentNullException.ThrowIfNull(rendering);
        var scores = ClassScores.For(card);
        _explainers = [.. methods.Select(m => Explainer.Create(model, m with { Scores = scores }))];
        _card = card;
        _rendering = rendering;
    }

    /// <summary>The explainers, one per method, in order.</summary>
    public IReadOnlyList<Explainer> Explainers => _explainers;

    /// <summary>
    /// Explains <paramref name="batch"/>, whose inputs are named <paramref name="names"/>, with targets per input
    /// (null: the input has no targets, which fails the batch's loaded inputs).
    /// </summary>
    public ExplainedBatch Explain(InputBatch batch, IReadOnlyList<string> names, IReadOnlyList<TargetSelection?> targets)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(targets);
        var perMethod = _explainers.Select(e => BatchExplainer.Explain(e, batch, names, targets, _card, _rendering)).ToArray();
        var records = new List<ManifestRecord>();
        var files = new List<OutputFile>();
        for (var i = 0; i < names.Count; i++)
        {
            for (var m = 0; m < _explainers.Length; m++)
            {
                var (method, layer) = (_explainers[m].Options.Method, BatchExplainer.LayerLabel(_explainers[m]));
                foreach (var target in perMethod[m].Targets.Where(t => t.Input == i))
                {
                    var score = target.Class is null ? (double?)null : Math.Round(target.Score, 6);
                    if (target.Error is { } error)
                    {
                        records.Add(new ManifestRecord(names[i], method, layer, target.Class, target.Label, score, null, error, Target: target.Target));
                        continue;
                    }

                    var outputs = target.Files.ToDictionary(f => f.Key, f => ManifestRecord.OutputPath(target.Stem!, f.Suffix), StringComparer.Ordinal);
                    files.AddRange(target.Files.Select(f => new OutputFile(outputs[f.Key], f.Content)));
                    records.Add(new ManifestRecord(names[i], method, layer, target.Class, target.Label, score, outputs, null, null, Math.Round(perMethod[m].SecondsPerMap, 4), target.Target));
                }
            }
        }

        return new ExplainedBatch(records, files);
    }
}
