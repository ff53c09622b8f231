using Salient.Engine;

namespace Salient.Methods.Gradients;

/// <summary>Gradient × input: the input gradient multiplied element-wise by the input.</summary>
internal sealed class GradientTimesInput(Model model, ExplainOptions options) : GradientExplainer(model, options)
{
    protected override bool TimesInput => true;
}
