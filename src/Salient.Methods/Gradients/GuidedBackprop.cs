using Salient.Engine;
using Salient.Engine.Graph.Backward;
using Salient.Methods.Internal;

namespace Salient.Methods.Gradients;

/// <summary>Guided backpropagation: ReLUs pass only positive gradients where the forward passed.</summary>
internal sealed class GuidedBackprop(Model model, ExplainOptions options) : GradientExplainer(model, options)
{
    private protected override IBackwardRules Rules => GuidedBackpropRules.Instance;
}
