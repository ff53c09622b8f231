using System.Numerics.Tensors;
using Salient.Engine;

namespace Salient.Methods.Cam;

/// <summary>Grad-CAM element-wise (pytorch-grad-cam's GradCAMElementWise): Σ_k relu(G_k ⊙ A_k), the ReLU taken before the channel sum.</summary>
internal sealed class GradCamElementWise(Model model, ExplainOptions options) : GradientWeightedCam(model, options)
{
    protected override void AddChannel(ReadOnlySpan<float> activation, ReadOnlySpan<float> gradient, Span<float> map, Span<float> scratch)
    {
        TensorPrimitives.Multiply(gradient, activation, scratch);
        TensorPrimitives.Max(scratch, 0f, scratch);
        TensorPrimitives.Add(map, scratch, map);
    }
}
