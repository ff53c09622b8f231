using Salient.Engine;
using Salient.Engine.Graph.Backward;
using Salient.Methods.Internal;

namespace Salient.Methods.Attribution;

/// <summary>
/// Layer-wise relevance propagation with the α-β rule (Bach et al., 2015) on convolutions and linear
/// layers after the first: positive contributions carry α times their share of the relevance, negative
/// ones β times theirs (<see cref="LrpWeightRule.AlphaBeta"/>); the ε rule elsewhere.
/// </summary>
internal sealed class LrpAlphaBeta : GradientExplainer
{
    private readonly LrpRules _rules;

    public LrpAlphaBeta(Model model, ExplainOptions options)
        : base(model, options)
    {
        _rules = new LrpRules(LrpWeightRule.AlphaBeta, (float)ParameterIn("epsilon", 0, double.MaxValue), model.InputName,
            alpha: (float)ParameterIn("alpha", 0, double.MaxValue), beta: (float)ParameterIn("beta", 0, double.MaxValue));
    }

    protected override bool TimesInput => true;

    private protected override IBackwardRules Rules => _rules;
}
