using System.Numerics.Tensors;
using Salient.Engine;
using Salient.Engine.Kernels;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Cam;

/// <summary>
/// FullGrad (Srinivas and Fleuret, NeurIPS 2019; pytorch-grad-cam's FullGrad): the input-gradient
/// term |x ⊙ ∇ₓy| plus, for every layer with a per-channel bias (<see cref="Architecture.BiasLayers"/>),
/// the bias-gradient term |b_k · ∂y/∂z_k| at the layer's output z; each channel of each term min-maxed
/// at its own resolution, resized to the input and summed. Raw is that sum [H, W]; the map its min-max.
/// Min-max and bilinear resizing are affine per channel, so each layer's channels are summed before its one resize.
/// </summary>
internal sealed class FullGrad : GradientExplainer
{
    private readonly IReadOnlyList<(string Value, float[] Bias)> _layers;

    public FullGrad(Model model, ExplainOptions options)
        : base(model, options)
    {
        _layers = new Architecture(model).BiasLayers();
    }

    private protected override (Tensor?[][] Raws, Tensor Logits, IReadOnlyList<int>[] Targets) Attribute(Tensor input, TargetSelection selection)
    {
        using var record = Model.RecordForward(input, [Model.InputName], []);
        var logits = record.Value(Model.OutputNames[0]).Clone();
        var targets = SelectTargets(logits, selection);
        var raws = targets.Select(t => new Tensor?[t.Count]).ToArray();
        string[] wanted = [Model.InputName, .. _layers.Select(l => l.Value)];
        for (var slot = 0; slot < targets.Max(t => t.Count); slot++)
        {
            var gradients = Model.Backward(record, SeedFor(logits, selection, targets, slot), wanted);
            try
            {
                for (var b = 0; b < targets.Length; b++)
                {
                    if (slot < targets[b].Count)
                    {
                        raws[b][slot] = Saliency(input, b, gradients);
                    }
                }
            }
            finally
            {
                foreach (var gradient in gradients.Values)
                {
                    gradient.Dispose();
                }
            }
        }

        return (raws, logits, targets);
    }

    /// <summary>Image <paramref name="image"/>'s sum of min-maxed terms [H, W].</summary>
    private Tensor Saliency(Tensor input, int image, Dictionary<string, Tensor> gradients)
    {
        var (channels, height, width) = (input.Dim(1), input.Dim(2), input.Dim(3));
        var plane = height * width;
        var raw = Tensor.Zeros(height, width);
        var offset = image * channels * plane;
        AddTerms(input.Span.Slice(offset, channels * plane), gradients[Model.InputName].Span.Slice(offset, channels * plane), null, raw.Span);
        foreach (var (value, bias) in _layers)
        {
            if (!gradients.TryGetValue(value, out var gradient))
            {
                continue;
            }

            var (h, w) = (gradient.Dim(2), gradient.Dim(3));
            using var sum = Tensor.Zeros(h, w);
            var perImage = bias.Length * h * w;
            AddTerms(null, gradient.Span.Slice(image * perImage, perImage), bias, sum.Span);
            using var resized = MapMath.Resize(KernelBackends.Host, sum, height, width);
            TensorPrimitives.Add(raw.Span, resized.Span, raw.Span);
        }

        return raw;
    }

    /// <summary>Adds Σ_k minmax(|factor_k ⊙ gradient_k|) to <paramref name="sum"/>, the factor being the values or the channel's bias.</summary>
    private static void AddTerms(ReadOnlySpan<float> values, ReadOnlySpan<float> gradient, float[]? bias, Span<float> sum)
    {
        var plane = sum.Length;
        using var term = Tensor.Uninitialized(plane);
        for (var k = 0; k < gradient.Length / plane; k++)
        {
            var g = gradient.Slice(k * plane, plane);
            if (bias is null)
            {
                TensorPrimitives.Multiply(g, values.Slice(k * plane, plane), term.Span);
            }
            else
            {
                TensorPrimitives.Multiply(g, bias[k], term.Span);
            }

            TensorPrimitives.Abs(term.Span, term.Span);
            MapMath.MinMax(KernelBackends.Host, term);
            TensorPrimitives.Add(sum, term.Span, sum);
        }
    }

    protected override Tensor MapOf(Tensor raw)
    {
        var map = raw.Clone();
        MapMath.MinMax(KernelBackends.Host, map);
        return map;
    }
}
