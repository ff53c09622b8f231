using Salient.Engine;

namespace Salient.Methods.Tests;

/// <summary>
/// Shapley-CAM's Hessian-vector product is exact where the network is piecewise linear after the layer
/// (its parity with PyTorch's second-order autograd is in <see cref="ParityTests"/>); elsewhere it is refused.
/// </summary>
public sealed class ShapleyCamTests
{
    [Fact]
    public void A_layer_followed_by_a_curved_operator_is_refused_naming_the_node()
    {
        // ops_mix ends in a Softmax (and has HardSwish and HardSigmoid on the way).
        var model = Model.Load(Fixtures.Path("models", "ops_mix.onnx"));
        var error = Assert.Throws<ArgumentException>(() => Explainer.Create(model, new ExplainOptions { Method = "shapleycam" }));
        Assert.Contains("piecewise linear", error.Message, StringComparison.Ordinal);
        Assert.Contains(" node '", error.Message, StringComparison.Ordinal);
    }
}
