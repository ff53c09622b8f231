using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Cam;

/// <summary>Ablation-CAM: w_k = (y − y_k) / y, with y_k the target's logit when channel k of the layer is zeroed.</summary>
internal sealed class AblationCam : CamExplainer
{
    public AblationCam(Model model, ExplainOptions options)
        : base(model, options)
    {
        if (Layers.FirstOrDefault(Architecture.IsReshaped) is { } reshaped)
        {
            throw new ArgumentException($"ablationcam zeroes channels of the layer in the model's own layout; layer '{reshaped}' is reshaped to maps (--reshape), which it cannot write back. Use gradcam or scorecam.");
        }
    }

    protected override Tensor[] RawMaps(CamLayer layer, int image, IReadOnlyList<int> targets)
    {
        var (batch, logits, activations) = (layer.Batch, layer.Logits, layer.Activations);
        var k = activations.Dim(1);
        var classes = logits.Length / logits.Dim(0);
        var imageSize = batch.Length / batch.Dim(0);
        var weights = targets.Select(_ => new float[k]).ToArray();
        var used = Math.Min(k, Options.ChannelLimit ?? k);
        for (var start = 0; start < used; start += Options.InnerBatch)
        {
            var count = Math.Min(Options.InnerBatch, used - start);
            using var copies = Tensor.Uninitialized([count, .. batch.Shape[1..]]);
            for (var j = 0; j < count; j++)
            {
                batch.Span.Slice(image * imageSize, imageSize).CopyTo(copies.Span.Slice(j * imageSize, imageSize));
            }

            var first = start;
            using var ablated = Model.Forward(copies, [layer.Name], (name, value) =>
            {
                if (name == layer.Name)
                {
                    // Copy j loses channel first + j.
                    var plane = value.Dim(2) * value.Dim(3);
                    for (var j = 0; j < count; j++)
                    {
                        value.Span.Slice(((j * k) + first + j) * plane, plane).Clear();
                    }
                }
            });
            for (var t = 0; t < targets.Count; t++)
            {
                var y = logits.Span[(image * classes) + targets[t]];
                for (var j = 0; j < count; j++)
                {
                    weights[t][start + j] = (y - ablated.Span[(j * classes) + targets[t]]) / y;
                }
            }
        }

        return [.. weights.Select(w => WeightedSum(activations, image, w))];
    }
}
