using Salient.Engine;
using Salient.Engine.Kernels;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Attribution;

/// <summary>
/// The base of the perturbation attributions (Occlusion, feature ablation, RISE): one forward pass of
/// the unperturbed batch gives the logits, the targets and the reference scores; then, image by image,
/// the method's perturbed copies run through the model <see cref="ExplainOptions.InnerBatch"/> at a
/// time (reporting <see cref="ExplainOptions.Progress"/>) and the method turns the targets' logits on
/// each copy into a raw map per target.
/// </summary>
public abstract class PerturbationExplainer : Explainer
{
    /// <summary>A perturbation method on <paramref name="model"/>; it uses no layer.</summary>
    protected PerturbationExplainer(Model model, ExplainOptions options)
        : base(model, options, [])
    {
    }

    /// <inheritdoc/>
    protected override void Run(Tensor batch, TargetSelection selection, List<Explanation> results)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(results);
        using var logits = Model.Forward(batch);
        var targets = SelectTargets(logits, selection);
        var perImage = batch.Length / batch.Dim(0);
        var classes = logits.Length / batch.Dim(0);
        for (var b = 0; b < targets.Length; b++)
        {
            using var image = Tensor.FromSpan(batch.Span.Slice(b * perImage, perImage), batch.Shape[1..]);
            var raws = Attribute(image, logits.Span.Slice(b * classes, classes), targets[b]);
            for (var t = 0; t < raws.Length; t++)
            {
                results.Add(Result(logits, b, targets[b][t], raws[t], MapOf(raws[t])));
            }
        }
    }

    /// <summary>
    /// The raw maps of one image [C,H,W], one per target of <paramref name="targets"/>, in order;
    /// <paramref name="logits"/> are the unperturbed image's.
    /// </summary>
    protected abstract Tensor[] Attribute(Tensor image, ReadOnlySpan<float> logits, IReadOnlyList<int> targets);

    /// <summary>The map [H,W] in [0, 1] from a raw map: for a [C,H,W] attribution, max over channels of |raw| divided by its maximum (+1e-10), as the gradient methods.</summary>
    protected virtual Tensor MapOf(Tensor raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        return MapMath.ChannelMaxAbs(KernelBackends.Host, raw);
    }

    /// <summary>
    /// The targets' logits (or, with <paramref name="probabilities"/>, their <see cref="ExplainOptions.Scores"/>)
    /// on <paramref name="count"/> perturbed copies of <paramref name="image"/> [C,H,W]:
    /// <paramref name="fill"/> writes copy i (called in parallel); the result is [copy][target].
    /// </summary>
    protected float[][] TargetScores(Tensor image, int count, Action<int, Span<float>> fill, IReadOnlyList<int> targets, bool probabilities = false)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(targets);
        var scores = new float[count][];
        PerturbedForward.Run(Model, image.Shape, count, Options.InnerBatch, fill, (i, logits) =>
        {
            var row = new float[targets.Count];
            for (var t = 0; t < row.Length; t++)
            {
                row[t] = probabilities ? (float)Options.Scores.Probability(logits, targets[t]) : logits[targets[t]];
            }

            scores[i] = row;
        }, Options.Progress is { } report ? done => report(done, count) : null);
        return scores;
    }
}
