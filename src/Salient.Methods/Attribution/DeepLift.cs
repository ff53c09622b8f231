using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
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

    /// <summary>How many baselines the attribution is averaged over.</summary>
    private protected virtual int BaselineCount => 1;

    /// <summary>Writes baseline <paramref name="sample"/>, one image (C·H·W values) used for every image of the batch, into <paramref name="target"/> on the model's backend.</summary>
    private protected virtual void FillBaseline(int sample, BufferView target) => Model.Backend.Fill(target, Baseline);

    private protected override (Tensor?[][] Raws, Tensor Logits, IReadOnlyList<int>[] Targets) Attribute(Tensor input, TargetSelection selection)
    {
        var backend = Model.Backend;
        var x = input.To(backend);
        try
        {
            using var clean = Model.Forward(x);
            var targets = SelectTargets(clean, selection);
            var (images, perImage) = (input.Dim(0), input.Length / input.Dim(0));
            int[] rows = [images, perImage];
            using var paired = Tensor.Uninitialized(backend, [2 * images, .. input.Shape[1..]]);
            backend.Copy(x.Data, paired.Data.Slice(0, input.Length));
            var baseline = paired.Data.Slice(input.Length, perImage);
            using var difference = Tensor.Uninitialized(backend, input.Shape);
            Tensor?[][]? sum = null;
            for (var s = 0; s < BaselineCount; s++)
            {
                // The baseline in the second half's first image, copied to the others; difference = x − b.
                FillBaseline(s, baseline);
                for (var b = 1; b < images; b++)
                {
                    backend.Copy(baseline, paired.Data.Slice((images + b) * perImage, perImage));
                }

                backend.Binary(BinaryOp.Sub, x.Data, rows, baseline, [1, perImage], difference.Data, rows);
                using var record = RecordForInput(paired);
                sum = Accumulate(sum, InputGradients(record, record.Value(Model.OutputNames[0]), selection, targets, times: difference));
            }

            return (Average(sum!, BaselineCount), clean.Clone(), targets);
        }
        finally
        {
            if (!ReferenceEquals(x, input))
            {
                x.Dispose();
            }
        }
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
