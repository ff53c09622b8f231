using Salient.Engine;
using Salient.Engine.Kernels;
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
        var backend = Model.Backend;
        var onDevice = input.To(backend);
        for (var i = 0; i < steps; i++)
        {
            using var scaled = Tensor.Uninitialized(backend, input.Shape);
            backend.Map(new MapFunction(MapFunctionKind.Scale, (i + 0.5f) / steps), onDevice.Data, scaled.Data);
            using var record = RecordForInput(scaled);
            var grads = InputGradients(record, record.Value(Model.OutputNames[0]), selection, selected, times: null);
            sum = Accumulate(sum, grads);
        }

        var perImage = input.Length / input.Dim(0);
        int[] imageShape = [.. input.Shape[1..]];
        for (var b = 0; b < selected.Length; b++)
        {
            foreach (var raw in sum![b])
            {
                backend.Binary(BinaryOp.Mul, raw!.Data, imageShape, onDevice.Data.Slice(b * perImage, perImage), imageShape, raw.Data, imageShape);
                backend.Map(new MapFunction(MapFunctionKind.Scale, 1f / steps), raw.Data, raw.Data);
            }
        }

        if (!ReferenceEquals(onDevice, input))
        {
            onDevice.Dispose();
        }

        return (sum!, clean.Clone(), selected);
    }
}
