using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Salient.Engine;
using Salient.Engine.IO;
using Salient.Imaging;

namespace Salient.Methods;

/// <summary>One output file of an explanation, rendered in memory.</summary>
/// <param name="Key">What it is: <c>map</c>, <c>raw</c>, <c>concepts</c> (<c>dff</c>'s concept logits), <c>png</c>, <c>overlay</c>, <c>mask</c> or <c>boxes</c>.</param>
/// <param name="Suffix">Appended to <see cref="ExplainedTarget.Stem"/> to name the file, e.g. <c>.overlay.png</c>.</param>
/// <param name="Content">The file's bytes.</param>
public sealed record RenderedFile(string Key, string Suffix, byte[] Content);

/// <summary>
/// One input × target of a batch: the rendered files, or why there are none. An input that failed
/// to load or to explain has one record with no class.
/// </summary>
/// <param name="Input">The input's index in the chunk.</param>
/// <param name="Class">The target class, or null when the input failed as a whole.</param>
/// <param name="Label">The class's label from the model card, when it has one.</param>
/// <param name="Score">The class's probability.</param>
/// <param name="Stem">
/// Where the files go, relative to an output root: <c>&lt;safe input name&gt;/&lt;method&gt;[-&lt;layers&gt;]-&lt;target&gt;</c>, the target
/// <c>c&lt;class&gt;</c>, or for a weighted-sum target <c>c&lt;A&gt;-vs-&lt;B&gt;_&lt;C&gt;</c> (contrast) or <c>w&lt;A&gt;x&lt;weight&gt;_&lt;B&gt;x&lt;weight&gt;</c> (weights).
/// </param>
/// <param name="Files">The rendered files.</param>
/// <param name="Error">Why the input or target failed, or null.</param>
/// <param name="Target">The score explained when it is not the class's own logit, in the target syntax (<c>contrast:A,B</c>, <c>weights:A=W,B=W</c>); null otherwise.</param>
public sealed record ExplainedTarget(int Input, int? Class, string? Label, float Score, string? Stem, IReadOnlyList<RenderedFile> Files, string? Error, string? Target = null);

/// <summary>
/// Explains a loaded batch of inputs and renders every input × target to files in memory, so the
/// CLI writes them to a folder and a cluster worker to a blob store with the same names and bytes.
/// </summary>
public static class BatchExplainer
{
    /// <summary>
    /// Explains <paramref name="batch"/>, whose inputs are named <paramref name="names"/>, with targets per input
    /// (<c>null</c>: the input is not in the target list, which fails the batch's loaded inputs).
    /// Returns, in input order, one record per input × target, or one error record per failed input,
    /// and the seconds spent explaining per map.
    /// </summary>
    public static (IReadOnlyList<ExplainedTarget> Targets, double SecondsPerMap) Explain(
        Explainer explainer, InputBatch batch, IReadOnlyList<string> names, IReadOnlyList<TargetSelection?> targets, ModelCard card, RenderOptions rendering)
    {
        ArgumentNullException.ThrowIfNull(explainer);
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(card);
        ArgumentNullException.ThrowIfNull(rendering);
        var errors = batch.Errors.ToArray();
        var perInput = new List<Explanation>?[names.Count];
        var clock = Stopwatch.StartNew();
        TargetSelection? selection = null;
        if (batch.Tensor is not null)
        {
            try
            {
                var selections = batch.Loaded.Select(i => targets[i]).ToArray();
                var missing = Array.FindIndex(selections, s => s is null);
                if (missing >= 0)
                {
                    throw new ArgumentException($"Input '{names[batch.Loaded[missing]]}' is not in the target manifest.");
                }

                selection = Combined(selections!);
                foreach (var result in explainer.Explain(batch.Tensor, selection))
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
        var preprocessor = new ImagePreprocessor(card);
        var stem = Stem(explainer);
        var records = new List<ExplainedTarget>();
        for (var i = 0; i < names.Count; i++)
        {
            if (errors[i] is { } error)
            {
                records.Add(new ExplainedTarget(i, null, null, 0, null, [], error));
                continue;
            }

            var row = batch.RowOf(i);
            var imageSize = card.Channels * card.Height * card.Width;
            using var input = Tensor.FromSpan(batch.Tensor!.Span.Slice(row * imageSize, imageSize), card.Channels, card.Height, card.Width);
            foreach (var explanation in perInput[i] ?? [])
            {
                using (explanation)
                {
                    var label = explanation.Class < card.Labels.Count ? card.Labels[explanation.Class] : null;
                    var (name, score) = (selection!.OutputName(explanation.Image, explanation.Class), selection.ScoreText(explanation.Image));
                    records.Add(explanation.IsFinite
                        ? new ExplainedTarget(i, explanation.Class, label, explanation.Probability, $"{SafeName(names[i])}/{stem}-{SafeName(name)}",
                            Render(explanation, input, preprocessor, rendering), null, score)
                        : new ExplainedTarget(i, explanation.Class, label, explanation.Probability, null, [], $"the {explainer.Options.Method} map contains NaN or infinity", score));
                }
            }
        }

        return (records, seconds);
    }

    /// <summary>
    /// The method part of output names: the method, and the explainer's layers when they were chosen
    /// (<c>gradcam-layer3+layer4</c>).
    /// </summary>
    public static string Stem(Explainer explainer)
    {
        ArgumentNullException.ThrowIfNull(explainer);
        return explainer.Options.Layers.Count == 0 ? explainer.Options.Method : explainer.Options.Method + "-" + SafeName(string.Join('+', explainer.Layers));
    }

    /// <summary>
    /// The <c>layer</c> value of a manifest record, the same in the CLI and the cluster: the layers
    /// used (defaults resolved), comma-separated, or null for methods that use none.
    /// </summary>
    public static string? LayerLabel(Explainer explainer)
    {
        ArgumentNullException.ThrowIfNull(explainer);
        return explainer.Layers.Count == 0 ? null : string.Join(',', explainer.Layers);
    }

    /// <summary>A file- and blob-name-safe, deterministic form of an input path or layer name (re-runs write the same names).</summary>
    public static string SafeName(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length);
        foreach (var c in text.TrimStart('.', '/'))
        {
            builder.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' ? c : '_');
        }

        return builder.ToString();
    }

    /// <summary>The requested files of one explanation of <paramref name="input"/>.</summary>
    private static List<RenderedFile> Render(Explanation explanation, Tensor input, ImagePreprocessor preprocessor, RenderOptions rendering)
    {
        var files = new List<RenderedFile>();
        var (height, width) = (explanation.Map.Dim(0), explanation.Map.Dim(1));
        var map = explanation.Map.Span;
        if (rendering.Wants("npy"))
        {
            files.Add(new RenderedFile("map", ".npy", Encode(s => Npy.Write(s, explanation.Map.Span, explanation.Map.Shape))));
            files.Add(new RenderedFile("raw", ".raw.npy", Encode(s => Npy.Write(s, explanation.Raw.Span, explanation.Raw.Shape))));
            if (explanation.ConceptScores is { } concepts)
            {
                files.Add(new RenderedFile("concepts", ".concepts.npy", Encode(s => Npy.Write(s, concepts.Span, concepts.Shape))));
            }
        }

        if (rendering.Wants("png"))
        {
            using var heatmap = SaliencyRenderer.Heatmap(map, width, height, rendering.Colormap);
            files.Add(new RenderedFile("png", ".png", Encode(s => PngEncoder.Write(s, heatmap))));
        }

        if (rendering.Wants("overlay"))
        {
            using var seen = preprocessor.Denormalize(input);
            using var overlay = SaliencyRenderer.Overlay(map, seen, rendering.Colormap, rendering.Alpha);
            files.Add(new RenderedFile("overlay", ".overlay.png", Encode(s => PngEncoder.Write(s, overlay))));
        }

        if (rendering.Wants("mask"))
        {
            var mask = new byte[width * height];
            SaliencyRenderer.Mask(map, width, height, mask, rendering.Threshold);
            files.Add(new RenderedFile("mask", ".mask.png", Encode(s => PngEncoder.Write(s, mask, width, height, PngColorType.Gray))));
        }

        if (rendering.Wants("boxes"))
        {
            var box = SaliencyRenderer.Box(map, width, height, rendering.Threshold);
            files.Add(new RenderedFile("boxes", ".boxes.json", JsonSerializer.SerializeToUtf8Bytes(box is null ? [] : new[] { box.Value })));
        }

        return files;
    }

    private static byte[] Encode(Action<Stream> write)
    {
        using var stream = new MemoryStream();
        write(stream);
        return stream.ToArray();
    }

    /// <summary>One selection for a batch whose images each have their own.</summary>
    private static TargetSelection Combined(TargetSelection[] perImage) =>
        perImage.Distinct().Count() == 1 ? perImage[0] : TargetSelection.PerImage(perImage);
}
