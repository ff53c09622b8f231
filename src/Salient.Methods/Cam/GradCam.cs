using System.Numerics.Tensors;
using Salient.Engine;

namespace Salient.Methods.Cam;

/// <summary>Grad-CAM: w_k = mean of the gradient over channel k's positions.</summary>
internal class GradCam(Model model, ExplainOptions options) : GradientWeightedCam(model, options)
{
    private protected override bool WeighsByGradientMean => true;

    protected override void AddChannel(ReadOnlySpan<float> activation, ReadOnlySpan<float> gradient, Span<float> map, Span<float> scratch) =>
        TensorPrimitives.MultiplyAdd(activation, TensorPrimitives.Sum(gradient) / gradient.Length, map, map);
}
