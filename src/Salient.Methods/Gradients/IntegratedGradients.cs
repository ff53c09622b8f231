using System.Numerics.Tensors;
using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Gradients;

/// <summary>Integrated gradients: x ⊙ the mean gradient at α·x, α at the midpoints of [0, 1] (zero baseline, <see cref="ExplainOptions.IntegrationSteps"/> steps).</summary>
internal sealed class IntegratedGradients(Model model, ExplainOptions options) : GradientExplainer(model, options)
{
    private protected override (Tensor?[][] Raws, Tensor Logits, IReadOnlyList<int>[] Targets) Attribute(Tensor input, TargetSelection selection)
    {
        using var clean = Model.Forward(input);
        var selected = SelectTargets(clean, selection);
        Tensor?[][]? sum = null;
        var steps = Options.IntegrationSteps;
        for (var i = 0; i < steps; i++)
        {
            using var scaled = input.Clone();
            TensorPrimitives.Multiply(scaled.Span, (i + 0.5f) / steps, scaled.Span);
            using var record = RecordForInput(scaled);
            var grads = InputGradients(record, record.Value(Model.OutputNames[0]), selected, times: null);
            sum = Accumulate(sum, grads);
        }

        var perImage = input.Length / input.Dim(0);
        for (var b = 0; b < selected.Length; b++)
        {
            foreach (var raw in sum![b])
            {
                TensorPrimitives.Multiply(raw!.Span, input.Span.Slice(b * perImage, perImage), raw.Span);
                TensorPrimitives.Multiply(raw.Span, 1f / steps, raw.Span);
            }
        }

        return (sum!, clean.Clone(), selected);
    }
}
