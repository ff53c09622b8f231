using System.Numerics.Tensors;
using Salient.Engine;
using Salient.Engine.Graph.Backward;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Attribution;

/// <summary>
/// DeepLIFT with the rescale rule (Shrikumar et al., ICML 2017; Captum's DeepLift): (x − b) ⊙ the
/// multipliers of the target's logit, backpropagated through <see cref="DeepLiftRules"/> on one
/// forward pass of the batch paired with its baseline b (the constant <c>baseline</c>). The
/// attributions sum to y(x) − y(b) where only activations and max pools are nonlinear.
/// </summary>
internal class DeepLift : GradientExplainer
{
    public DeepLift(Model model, ExplainOptions options)
        : base(model, options)
    {
        Baseline = (float)Parameter("baseline");
    }

    /// <summary>The constant baseline value (the <c>baseline</c> parameter).</summary>
    private protected float Baseline { get; }

    private protected override IBackwardRules Rules => DeepLiftRules.Instance;

    /// <summary>The baselines the attribution is averaged over, each one image (C·H·W values) used for every image of the batch.</summary>
    private protected virtual IEnumerable<float[]> Baselines(int perImage)
    {
        var baseline = new float[perImage];
        Array.Fill(baseline, Baseline);
        yield return baseline;
    }

    private protected override (Tensor?[][] Raws, Tensor Logits, IReadOnlyList<int>[] Targets) Attribute(Tensor input, TargetSelection selection)
    {
        using var clean = Model.Forward(input);
        var targets = SelectTargets(clean, selection);
        var (images, perImage) = (input.Dim(0), input.Length / input.Dim(0));
        using var paired = Tensor.Uninitialized([2 * images, .. input.Shape[1..]]);
        input.Span.CopyTo(paired.Span);
        using var difference = Tensor.Uninitialized(input.Shape);
        Tensor?[][]? sum = null;
        var count = 0;
        foreach (var baseline in Baselines(perImage))
        {
            for (var b = 0; b < images; b++)
            {
                baseline.CopyTo(paired.Span.Slice((images + b) * perImage, perImage));
                TensorPrimitives.Subtract(input.Span.Slice(b * perImage, perImage), baseline, difference.Span.Slice(b * perImage, perImage));
            }

            using var record = RecordForInput(paired);
            sum = Accumulate(sum, InputGradients(record, record.Value(Model.OutputNames[0]), selection, targets, times: difference));
            count++;
        }

        foreach (var raw in sum!.SelectMany(r => r))
        {
            TensorPrimitives.Multiply(raw!.Span, 1f / count, raw.Span);
        }

        return (sum!, clean.Clone(), targets);
    }

    /// <summary>Both halves of the paired batch are seeded with the image's target, as the rescale rule's multipliers assume.</summary>
    private protected override Tensor SeedFor(Tensor logits, TargetSelection selection, IReadOnlyList<int>[] targets, int slot)
    {
        var seed = Seed(logits, selection, targets, slot);
        var half = seed.Length / 2;
        seed.Span[..half].CopyTo(seed.Span[half..]);
        return seed;
    }
}
