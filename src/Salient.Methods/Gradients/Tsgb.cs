using Salient.Engine;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Gradients;

/// <summary>
/// TSGB: the gradient through TSGB's backward rules (<see cref="TsgbRules"/>), reduced to the
/// signed map S = Σ_c x ⊙ g; the map is relu(S) divided by its maximum (docs/methods.md). All of it
/// on the model's device.
/// </summary>
internal sealed class Tsgb(Model model, ExplainOptions options) : GradientExplainer(model, options)
{
    private readonly TsgbRules _rules = new(new Architecture(model).FinalLinear());

    private protected override IBackwardRules Rules => _rules;

    protected override Tensor Finish(Tensor batch, int image, Tensor attribution)
    {
        var backend = Model.Backend;
        var (channels, height, width) = (batch.Dim(1), batch.Dim(2), batch.Dim(3));
        var plane = height * width;
        // The clean image on the model's device: the batch is the caller's, on the host.
        using var host = Tensor.FromSpan(batch.Span.Slice(image * channels * plane, channels * plane), channels, height, width);
        var x = host.To(backend);
        try
        {
            var s = Tensor.Uninitialized(backend, height, width);
            backend.ChannelProductSum(ChannelProduct.Product, channels, plane, x.Data, attribution.Data, s.Data);
            return s;
        }
        finally
        {
            if (!ReferenceEquals(x, host))
            {
                x.Dispose();
            }
        }
    }

    protected override Tensor MapOf(Tensor raw)
    {
        var map = raw.Clone();
        MapMath.Relu(Model.Backend, map);
        MapMath.DivideByMax(Model.Backend, map, 1e-10f);
        return map;
    }
}
