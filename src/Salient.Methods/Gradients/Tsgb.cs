using System.Numerics.Tensors;
using Salient.Engine;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Gradients;

/// <summary>
/// TSGB: the gradient through TSGB's backward rules (<see cref="TsgbRules"/>), reduced to the
/// signed map S = Σ_c x ⊙ g; the map is relu(S) divided by its maximum (docs/methods.md).
/// </summary>
internal sealed class Tsgb(Model model, ExplainOptions options) : GradientExplainer(model, options)
{
    private readonly TsgbRules _rules = new(new Architecture(model).FinalLinear());

    private protected override IBackwardRules Rules => _rules;

    protected override Tensor Finish(Tensor batch, int image, Tensor attribution)
    {
        var (channels, height, width) = (batch.Dim(1), batch.Dim(2), batch.Dim(3));
        var plane = height * width;
        var s = Tensor.Zeros(height, width);
        var x = batch.Span.Slice(image * channels * plane, channels * plane);
        for (var c = 0; c < channels; c++)
        {
            TensorPrimitives.MultiplyAdd(x.Slice(c * plane, plane), attribution.Span.Slice(c * plane, plane), s.Span, s.Span);
        }

        return s;
    }

    protected override Tensor MapOf(Tensor raw)
    {
        var map = raw.Clone();
        // TSGB's raw map is made on the host (Finish), so its map is too.
        MapMath.Relu(KernelBackends.Host, map);
        MapMath.DivideByMax(KernelBackends.Host, map, 1e-10f);
        return map;
    }
}
