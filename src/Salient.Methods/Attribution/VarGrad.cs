using Salient.Engine;

namespace Salient.Methods.Attribution;

/// <summary>VarGrad (Captum's NoiseTunnel, vargrad): the variance of the input gradient over noisy copies of the input.</summary>
internal sealed class VarGrad(Model model, ExplainOptions options) : GradientExplainer(model, options)
{
    private protected override NoiseStatistic Statistic => NoiseStatistic.Variance;
}
