using System.Numerics.Tensors;
using Salient.Engine;

namespace Salient.Methods.Cam;

/// <summary>XGrad-CAM: w_k = Σ G·A / (Σ A + 1e-7).</summary>
internal sealed class XGradCam(Model model, ExplainOptions options) : GradientWeightedCam(model, options)
{
    protected override void AddChannel(ReadOnlySpan<float> activation, ReadOnlySpan<float> gradient, Span<float> map, Span<float> scratch) =>
        TensorPrimitives.MultiplyAdd(activation, TensorPrimitives.Dot(gradient, activation) / (TensorPrimitives.Sum(activation) + 1e-7f), map, map);
}
