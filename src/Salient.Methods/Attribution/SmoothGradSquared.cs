using Salient.Engine;

namespace Salient.Methods.Attribution;

/// <summary>SmoothGrad² (Captum's NoiseTunnel, smoothgrad_sq): the mean of the squared input gradient over noisy copies of the input.</summary>
internal sealed class SmoothGradSquared(Model model, ExplainOptions options) : GradientExplainer(model, options)
{
    private protected override NoiseStatistic Statistic => NoiseStatistic.MeanSquare;
}
