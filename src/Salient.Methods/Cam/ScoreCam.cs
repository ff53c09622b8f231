using System.Numerics.Tensors;
using Salient.Engine;
using Salient.Engine.Kernels;
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
        var backend = Model.Backend;
        // The image on the model's device: a view when the batch is there, else this image uploaded once.
        using var uploaded = batch.Device == backend.Device ? null : Tensor.Uninitialized(backend, channels * imagePlane);
        uploaded?.Data.CopyFrom(batch.Span.Slice(image * channels * imagePlane, channels * imagePlane));
        var pixels = uploaded?.Data ?? batch.Data.Slice(image * channels * imagePlane, channels * imagePlane);
        using var masks = Tensor.Uninitialized(backend, k, height, width);
        backend.ResizeBilinear(k, h, w, activations.Data.Slice(image * k * plane, k * plane), height, width, masks.Data, alignCorners: true);
        backend.Normalize(MapNormalization.MinMax, 1e-8f, k, masks.Data);

        var scores = targets.Select(_ => new float[k]).ToArray();
        var used = Math.Min(k, Options.ChannelLimit ?? k);
        for (var start = 0; start < used; start += Options.InnerBatch)
        {
            var count = Math.Min(Options.InnerBatch, used - start);
            using var masked = Tensor.Uninitialized(backend, count, channels, height, width);
            backend.Binary(BinaryOp.Mul, pixels, [1, channels, imagePlane], masks.Data.Slice(start * imagePlane, count * imagePlane), [count, 1, imagePlane],
                masked.Data, [count, channels, imagePlane]);

            using var logits = Model.Forward(masked);
            using var onHost = OnHost(logits);
            var classes = logits.Length / count;
            for (var t = 0; t < targets.Count; t++)
            {
                for (var j = 0; j < count; j++)
                {
                    scores[t][start + j] = onHost.Value.Span[(j * classes) + targets[t]];
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
