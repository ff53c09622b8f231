using Salient.Engine;
using Salient.Engine.Graph.Backward;
using Salient.Methods.Internal;

namespace Salient.Methods.Attribution;

/// <summary>
/// Layer-wise relevance propagation with the z⁺ rule (α = 1, β = 0; Captum's Alpha1_Beta0_Rule) on
/// convolutions and linear layers: only their positive weights carry relevance back; the ε rule elsewhere.
/// </summary>
internal sealed class LrpZPlus : GradientExplainer
{
    private readonly LrpRules _rules;

    public LrpZPlus(Model model, ExplainOptions options)
        : base(model, options)
    {
        _rules = new LrpRules(LrpWeightRule.ZPlus, (float)ParameterIn("epsilon", 0, double.MaxValue), model.InputName);
    }

    protected override bool TimesInput => true;

    private protected override IBackwardRules Rules => _rules;
}
