using System.Numerics.Tensors;
using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Cam;

/// <summary>Score-CAM: w = softmax_k of the target's logit on the input masked by each upsampled, min-max scaled channel.</summary>
internal sealed class ScoreCam(Model model, ExplainOptions options) : CamExplainer(model, options)
{
    protected override Tensor[] RawMaps(CamLayer layer, int image, IReadOnlyList<int> targets)
    {
        var (batch, activations) = (layer.Batch, layer.Activations);
        var (k, h, w) = (activations.Dim(1), activations.Dim(2), activations.Dim(3));
        var (channels, height, width) = (batch.Dim(1), batch.Dim(2), batch.Dim(3));
        var plane = h * w;
        var imagePlane = height * width;
        var pixels = batch.Span.Slice(image * channels * imagePlane, channels * imagePlane);
        using var masks = Tensor.Uninitialized(k, height, width);
        Model.Backend.ResizeBilinear(k, h, w, activations.Data.Slice(image * k * plane, k * plane), height, width, masks.Data, alignCorners: true);
        for (var c = 0; c < k; c++)
        {
            var mask = masks.Span.Slice(c * imagePlane, imagePlane);
            var min = TensorPrimitives.Min(mask);
            TensorPrimitives.Subtract(mask, min, mask);
            TensorPrimitives.Multiply(mask, 1f / (TensorPrimitives.Max(mask) + 1e-8f), mask);
        }

        var scores = targets.Select(_ => new float[k]).ToArray();
        var used = Math.Min(k, Options.ChannelLimit ?? k);
        for (var start = 0; start < used; start += Options.InnerBatch)
        {
            var count = Math.Min(Options.InnerBatch, used - start);
            using var masked = Tensor.Uninitialized(count, channels, height, width);
            for (var j = 0; j < count; j++)
            {
                var mask = masks.Span.Slice((start + j) * imagePlane, imagePlane);
                for (var ch = 0; ch < channels; ch++)
                {
                    TensorPrimitives.Multiply(pixels.Slice(ch * imagePlane, imagePlane), mask, masked.Span.Slice(((j * channels) + ch) * imagePlane, imagePlane));
                }
            }

            using var logits = Model.Forward(masked);
            var classes = logits.Length / count;
            for (var t = 0; t < targets.Count; t++)
            {
                for (var j = 0; j < count; j++)
                {
                    scores[t][start + j] = logits.Span[(j * classes) + targets[t]];
                }
            }
        }

        return [.. scores.Select(s =>
        {
            var weights = new float[s.Length];
            TensorPrimitives.SoftMax(s, weights);
            return WeightedSum(activations, image, weights);
        })];
    }
}
