using Salient.Engine;
using Salient.Engine.IO;

namespace Salient.Methods.Tests;

/// <summary>
/// LRP's relevance rules where no PyTorch reference covers them (residual Adds): with ε → 0 and the
/// plain weights, relevance propagation through ReLUs, batch norms, convolutions, Adds and the pool is
/// gradient × input. Parity with Captum's rules on a network without Adds is in <see cref="ParityTests"/>.
/// </summary>
public sealed class LrpTests
{
    [Fact]
    public void Epsilon_lrp_on_a_residual_relu_network_is_gradient_times_input()
    {
        var model = Model.Load(Fixtures.Path("models", "resnet_basic.onnx"));
        using var input = Npy.Read(Fixtures.Path("models", "resnet_basic.input.npy"));
        var lrp = Explainer.Create(model, new ExplainOptions { Method = "lrp" }).Explain(input, TargetSelection.Classes(0, 3));
        var reference = Explainer.Create(model, new ExplainOptions { Method = "gradxinput" }).Explain(input, TargetSelection.Classes(0, 3));
        try
        {
            Assert.Equal(reference.Count, lrp.Count);
            for (var i = 0; i < lrp.Count; i++)
            {
                var error = ParityTests.RelativeL2(reference[i].Raw.Span, lrp[i].Raw.Span);
                Assert.True(error < 1e-4, $"explanation {i}: relative L2 {error} from gradient × input");
            }
        }
        finally
        {
            foreach (var result in lrp.Concat(reference))
            {
                result.Dispose();
            }
        }
    }
}
