using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Attribution;

/// <summary>
/// GradientSHAP (Captum's GradientShap with a constant baseline b): the mean over samples of
/// (x̃ − b) ⊙ ∇y(b + α(x̃ − b)), α ~ U(0, 1) and x̃ = x + N(0, stdev²) per sample. Its expectation
/// with stdev 0 is integrated gradients' integral. Sample s uses the same α and noise pattern for
/// every image, from the counter-based generator under <see cref="ExplainOptions.Seed"/>: the pattern is
/// stream 2s (<see cref="IKernelBackend.FillNormal"/>, drawn on the device), α the first uniform of
/// stream 2s + 1, so an image's map depends neither on its batch nor on how the batch is split.
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
        var backend = Model.Backend;
        var x = input.To(backend);
        try
        {
            using var clean = Model.Forward(x);
            var targets = SelectTargets(clean, selection);
            var (images, perImage) = (input.Dim(0), input.Length / input.Dim(0));
            var shape = input.Shape;
            var baseline = BufferView.Host(new[] { _baseline });
            var ones = BufferView.Host(Enumerable.Repeat(1f, images).ToArray());
            using var pattern = Tensor.Uninitialized(backend, [perImage]);
            using var difference = Tensor.Uninitialized(backend, shape);
            using var point = Tensor.Uninitialized(backend, shape);
            Tensor?[][]? sum = null;
            for (var s = 0; s < _samples; s++)
            {
                var stream = 2 * (ulong)s;
                var alpha = CounterRandom.Uniform(NoiseSeed, stream + 1, 0);

                // difference = x̃ − b; point = b + α·(x̃ − b).
                backend.Copy(x.Data, difference.Data);
                if (_stdev > 0)
                {
                    backend.FillNormal(NoiseSeed, stream, 0f, _stdev, pattern.Data);
                    backend.AddScaled(pattern.Data, ones, difference.Data);
                }

                backend.Binary(BinaryOp.Sub, difference.Data, shape, baseline, [1], difference.Data, shape);
                backend.Map(new MapFunction(MapFunctionKind.Scale, alpha), difference.Data, point.Data);
                backend.Binary(BinaryOp.Add, point.Data, shape, baseline, [1], point.Data, shape);
                using var record = RecordForInput(point);
                sum = Accumulate(sum, InputGradients(record, record.Value(Model.OutputNames[0]), selection, targets, times: difference));
            }

            return (Average(sum!, _samples), clean.Clone(), targets);
        }
        finally
        {
            if (!ReferenceEquals(x, input))
            {
                x.Dispose();
            }
        }
    }
}
