using System.Numerics.Tensors;
using Salient.Engine;
using Salient.Engine.Kernels;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Attribution;

/// <summary>
/// GradientSHAP (Captum's GradientShap with a constant baseline b): the mean over samples of
/// (x̃ − b) ⊙ ∇y(b + α(x̃ − b)), α ~ U(0, 1) and x̃ = x + N(0, stdev²) per sample. Its expectation
/// with stdev 0 is integrated gradients' integral. Sample s uses the same α and noise pattern for
/// every image (seeded by <see cref="ExplainOptions.Seed"/>), so an image's map does not depend on its batch.
/// </summary>
internal sealed class GradientShap : GradientExplainer
{
    private readonly int _samples;
    private readonly float _baseline;
    private readonly float _stdev;

    public GradientShap(Model model, ExplainOptions options)
        : base(model, options)
    {
        _samples = WholeParameter("samples", 1);
        _baseline = (float)Parameter("baseline");
        _stdev = (float)ParameterIn("stdev", 0, double.MaxValue);
    }

    private protected override (Tensor?[][] Raws, Tensor Logits, IReadOnlyList<int>[] Targets) Attribute(Tensor input, TargetSelection selection)
    {
        using var clean = Model.Forward(input);
        var targets = SelectTargets(clean, selection);
        var random = new Random(Options.Seed);
        var perImage = input.Length / input.Dim(0);
        var pattern = new float[perImage];
        Tensor?[][]? sum = null;
        using var difference = input.Clone();
        using var point = Tensor.Uninitialized(input.Shape);
        for (var s = 0; s < _samples; s++)
        {
            var alpha = (float)random.NextDouble();
            for (var i = 0; i < perImage && _stdev > 0; i++)
            {
                pattern[i] = _stdev * MapMath.Gaussian(random);
            }

            // difference = x̃ − b; point = b + α·(x̃ − b).
            for (var b = 0; b < input.Dim(0); b++)
            {
                var diff = difference.Span.Slice(b * perImage, perImage);
                TensorPrimitives.Add(input.Span.Slice(b * perImage, perImage), pattern, diff);
                TensorPrimitives.Subtract(diff, _baseline, diff);
                TensorPrimitives.Multiply(diff, alpha, point.Span.Slice(b * perImage, perImage));
            }

            TensorPrimitives.Add(point.Span, _baseline, point.Span);
            using var record = RecordForInput(point);
            sum = Accumulate(sum, InputGradients(record, record.Value(Model.OutputNames[0]), selection, targets, times: difference));
        }

        foreach (var raw in sum!.SelectMany(r => r))
        {
            Model.Backend.Map(new MapFunction(MapFunctionKind.Scale, 1f / _samples), raw!.Data, raw.Data);
        }

        return (sum!, clean.Clone(), targets);
    }
}
