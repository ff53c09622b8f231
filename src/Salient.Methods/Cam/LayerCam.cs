using System.Numerics.Tensors;
using Salient.Engine;

namespace Salient.Methods.Cam;

/// <summary>LayerCAM: the element-wise Σ_k relu(G_k)·A_k.</summary>
internal sealed class LayerCam(Model model, ExplainOptions options) : GradientWeightedCam(model, options)
{
    protected override void AddChannel(ReadOnlySpan<float> activation, ReadOnlySpan<float> gradient, Span<float> map, Span<float> scratch)
    {
        TensorPrimitives.Max(gradient, 0f, scratch);
        TensorPrimitives.MultiplyAdd(scratch, activation, map, map);
    }
}
