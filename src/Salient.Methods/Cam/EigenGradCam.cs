using System.Numerics.Tensors;
using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Cam;

/// <summary>Eigen-Grad-CAM: Eigen-CAM's first principal component taken of G ⊙ A (the target's gradient times the activations) instead of A; sign as Eigen-CAM's.</summary>
internal sealed class EigenGradCam(Model model, ExplainOptions options) : CamExplainer(model, options)
{
    protected override bool NeedsGradients => true;

    protected override Tensor[] RawMaps(CamLayer layer, int image, IReadOnlyList<int> targets)
    {
        var activations = layer.Activations;
        var (k, h, w) = (activations.Dim(1), activations.Dim(2), activations.Dim(3));
        var size = k * h * w;
        using var product = Tensor.Uninitialized(1, k, h, w);
        TensorPrimitives.Multiply(activations.Span.Slice(image * size, size), layer.Gradients!.Span.Slice(image * size, size), product.Span);
        return [EigenCam.PrincipalComponent(product, 0)];
    }
}
