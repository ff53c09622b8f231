using System.Numerics.Tensors;
using Salient.Engine;

namespace Salient.Methods.Cam;

/// <summary>Grad-CAM++: α = G² / (2G² + ΣA·G³ + 1e-6), 0 where G = 0; w_k = Σ relu(G)·α.</summary>
internal sealed class GradCamPlusPlus(Model model, ExplainOptions options) : GradientWeightedCam(model, options)
{
    protected override void AddChannel(ReadOnlySpan<float> activation, ReadOnlySpan<float> gradient, Span<float> map, Span<float> scratch)
    {
        var sumA = TensorPrimitives.Sum(activation);
        var weight = 0f;
        foreach (var gi in gradient)
        {
            if (gi > 0f)
            {
                var g2 = gi * gi;
                weight += gi * (g2 / ((2 * g2) + (sumA * g2 * gi) + 1e-6f));
            }
        }

        TensorPrimitives.MultiplyAdd(activation, weight, map, map);
    }
}
