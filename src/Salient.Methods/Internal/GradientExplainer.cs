using System.Numerics.Tensors;
using Salient.Engine;
using Tensor = Salient.Engine.Tensor;
using Salient.Engine.Graph.Backward;

namespace Salient.Methods.Internal;

/// <summary>
/// Attributions at the input: gradient, gradient×input, guided backprop, integrated gradients,
/// TSGB, and guided Grad-CAM; each optionally smoothed (SmoothGrad). Every image of a batch gets
/// its own targets.
/// </summary>
internal sealed class GradientExplainer : Explainer
{
    private readonly IBackwardRules? _rules;
    private readonly CamExplainer? _gradCam;

    // Plain gradients and guided backprop see a ReLU fused into its convolution, batch norm or Add
    // as well as a separate one; TSGB's rules need every activation as a step.
    private bool FusesInRegion => _rules?.AllowsFusedSteps ?? true;

    public GradientExplainer(Model model, ExplainOptions options, IReadOnlyList<string> layers, Architecture architecture)
        : base(model, options, layers)
    {
        _rules = options.Method switch
        {
            "guided-backprop" or "guided-gradcam" => GuidedBackpropRules.Instance,
            "tsgb" => new TsgbRules(architecture.FinalLinear()),
            _ => null,
        };
        if (options.Method == "guided-gradcam")
        {
            _gradCam = new CamExplainer(model, options with { Method = "gradcam", SmoothSamples = 0 }, layers, architecture);
        }
    }

    private protected override void Run(Tensor batch, TargetSelection selection, List<Explanation> results)
    {
        var (raws, logits, targets) = Options.SmoothSamples > 0 ? Smoothed(batch, selection) : Attribute(batch, selection);
        try
        {
            IReadOnlyList<Explanation>? cams = _gradCam?.Explain(batch, TargetSelection.PerImage(targets));
            try
            {
                var (channels, height, width) = (batch.Dim(1), batch.Dim(2), batch.Dim(3));
                var camIndex = 0;
                for (var b = 0; b < targets.Length; b++)
                {
                    for (var t = 0; t < targets[b].Count; t++)
                    {
                        var raw = raws[b][t];
                        raws[b][t] = null;
                        if (cams is not null)
                        {
                            // Guided Grad-CAM: the guided gradients weighted by the Grad-CAM map.
                            var cam = cams[camIndex++].Map.Span;
                            for (var c = 0; c < channels; c++)
                            {
                                var plane = raw!.Span.Slice(c * height * width, height * width);
                                TensorPrimitives.Multiply(plane, cam, plane);
                            }
                        }

                        results.Add(Result(logits, b, targets[b][t], Finish(batch, b, ref raw!), MapOf(raw, channels, height, width)));
                    }
                }
            }
            finally
            {
                foreach (var cam in cams ?? [])
                {
                    cam.Dispose();
                }
            }
        }
        finally
        {
            logits.Dispose();
            foreach (var t in raws.SelectMany(r => r))
            {
                t?.Dispose();
            }
        }
    }

    /// <summary>TSGB reduces its attribution to S = Σ_c x ⊙ g; other methods keep C×H×W.</summary>
    private Tensor Finish(Tensor batch, int b, ref Tensor raw)
    {
        if (Options.Method != "tsgb")
        {
            return raw;
        }

        var (channels, height, width) = (batch.Dim(1), batch.Dim(2), batch.Dim(3));
        var plane = height * width;
        var s = Tensor.Zeros(height, width);
        var x = batch.Span.Slice(b * channels * plane, channels * plane);
        for (var c = 0; c < channels; c++)
        {
            TensorPrimitives.MultiplyAdd(x.Slice(c * plane, plane), raw.Span.Slice(c * plane, plane), s.Span, s.Span);
        }

        raw.Dispose();
        raw = s;
        return s;
    }

    private Tensor MapOf(Tensor raw, int channels, int height, int width)
    {
        if (Options.Method == "tsgb")
        {
            var map = raw.Clone();
            MapMath.Relu(map.Span);
            MapMath.DivideByMax(map.Span, 1e-10f);
            return map;
        }

        return MapMath.ChannelMaxAbs(raw.Span, channels, height * width, height, width);
    }

    /// <summary>Per image and target, the attribution [C,H,W] of the method at <paramref name="input"/>, with the logits and targets of that input.</summary>
    private (Tensor?[][] Raws, Tensor Logits, IReadOnlyList<int>[] Targets) Attribute(Tensor input, TargetSelection selection)
    {
        if (Options.Method != "integrated-gradients")
        {
            using var record = Model.RecordForward(input, [Model.InputName], [], FusesInRegion);
            var logits = record.Value(Model.OutputNames[0]).Clone();
            var targets = SelectTargets(logits, selection);
            return (InputGradients(record, logits, targets, times: Options.Method is "gradxinput" ? input : null), logits, targets);
        }

        // Integrated gradients: x ⊙ the mean gradient at α·x, α at the midpoints of [0, 1].
        using var clean = Model.Forward(input);
        var selected = SelectTargets(clean, selection);
        Tensor?[][]? sum = null;
        var steps = Options.IntegrationSteps;
        for (var i = 0; i < steps; i++)
        {
            using var scaled = input.Clone();
            TensorPrimitives.Multiply(scaled.Span, (i + 0.5f) / steps, scaled.Span);
            using var record = Model.RecordForward(scaled, [Model.InputName], [], FusesInRegion);
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

    /// <summary>Backward passes from the logits to the input, one per target slot, batched over images.</summary>
    private Tensor?[][] InputGradients(ForwardRecord record, Tensor logits, IReadOnlyList<int>[] targets, Tensor? times)
    {
        var raws = targets.Select(t => new Tensor?[t.Count]).ToArray();
        var perImage = record.Input.Length / record.Input.Dim(0);
        int[] imageShape = [.. record.Input.Shape[1..]];
        var slots = targets.Max(t => t.Count);
        for (var slot = 0; slot < slots; slot++)
        {
            var gradients = Model.Backward(record, Seed(logits, targets, slot), [Model.InputName], _rules);
            using var gradient = gradients[Model.InputName];
            for (var b = 0; b < targets.Length; b++)
            {
                if (slot < targets[b].Count)
                {
                    var raw = Tensor.FromSpan(gradient.Span.Slice(b * perImage, perImage), imageShape);
                    if (times is not null)
                    {
                        TensorPrimitives.Multiply(raw.Span, times.Span.Slice(b * perImage, perImage), raw.Span);
                    }

                    raws[b][slot] = raw;
                }
            }
        }

        return raws;
    }

    /// <summary>SmoothGrad: the attribution averaged over noisy copies of the input, noise σ = level × each image's value range; targets come from the clean input.</summary>
    private (Tensor?[][] Raws, Tensor Logits, IReadOnlyList<int>[] Targets) Smoothed(Tensor batch, TargetSelection selection)
    {
        var logits = Model.Forward(batch);
        var targets = SelectTargets(logits, selection);
        var random = new Random(Options.Seed);
        var perImage = batch.Length / batch.Dim(0);
        var sigmas = Enumerable.Range(0, batch.Dim(0)).Select(b =>
        {
            var image = batch.Span.Slice(b * perImage, perImage);
            return Options.SmoothNoise * (TensorPrimitives.Max(image) - TensorPrimitives.Min(image));
        }).ToArray();

        var fixedTargets = TargetSelection.PerImage(targets);
        Tensor?[][]? sum = null;
        for (var s = 0; s < Options.SmoothSamples; s++)
        {
            using var noisy = batch.Clone();
            var span = noisy.Span;
            for (var i = 0; i < span.Length; i++)
            {
                span[i] += sigmas[i / perImage] * MapMath.Gaussian(random);
            }

            var (raws, noisyLogits, _) = Attribute(noisy, fixedTargets);
            noisyLogits.Dispose();
            sum = Accumulate(sum, raws);
        }

        foreach (var raw in sum!.SelectMany(r => r))
        {
            TensorPrimitives.Multiply(raw!.Span, 1f / Options.SmoothSamples, raw.Span);
        }

        return (sum!, logits, targets);
    }

    /// <summary>Adds <paramref name="more"/> into <paramref name="sum"/> (taking it when null), disposing <paramref name="more"/>.</summary>
    private static Tensor?[][] Accumulate(Tensor?[][]? sum, Tensor?[][] more)
    {
        if (sum is null)
        {
            return more;
        }

        for (var b = 0; b < sum.Length; b++)
        {
            for (var t = 0; t < sum[b].Length; t++)
            {
                TensorPrimitives.Add(sum[b][t]!.Span, more[b][t]!.Span, sum[b][t]!.Span);
                more[b][t]!.Dispose();
            }
        }

        return sum;
    }
}
