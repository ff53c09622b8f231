using System.Numerics.Tensors;
using Salient.Engine;

namespace Salient.Methods.Cam;

/// <summary>HiResCAM: the element-wise Σ_k G_k·A_k.</summary>
internal sealed class HiResCam(Model model, ExplainOptions options) : GradientWeightedCam(model, options)
{
    protected override void AddChannel(ReadOnlySpan<float> activation, ReadOnlySpan<float> gradient, Span<float> map, Span<float> scratch) =>
        TensorPrimitives.MultiplyAdd(gradient, activation, map, map);
}
