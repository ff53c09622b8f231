using Salient.Engine;
using Salient.Engine.Graph.Backward;
using Salient.Methods.Internal;

namespace Salient.Methods.Attribution;

/// <summary>
/// Layer-wise relevance propagation with the ε rule (Captum's LRP with its default EpsilonRule), or with
/// the γ rule on convolutions and linear layers when <c>gamma</c> &gt; 0 (Captum's GammaRule): the
/// relevance x ⊙ c at the input, backpropagated through <see cref="LrpRules"/>.
/// </summary>
internal sealed class Lrp : GradientExplainer
{
    private readonly LrpRules _rules;

    public Lrp(Model model, ExplainOptions options)
        : base(model, options)
    {
        var gamma = (float)ParameterIn("gamma", 0, double.MaxValue);
        _rules = new LrpRules(gamma > 0 ? LrpWeightRule.Gamma : LrpWeightRule.Epsilon, (float)ParameterIn("epsilon", 0, double.MaxValue), model.InputName, gamma);
    }

    protected override bool TimesInput => true;

    private protected override IBackwardRules Rules => _rules;
}
