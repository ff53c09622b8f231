using Salient.Engine;
using Salient.Engine.Devices;

namespace Salient.Methods.Attribution;

/// <summary>
/// DeepLIFT-SHAP (Lundberg and Lee, NeurIPS 2017; Captum's DeepLiftShap): DeepLIFT's attribution
/// averaged over <c>samples</c> baselines b_s = <c>baseline</c> + N(0, <c>stdev</c>²) per value, the same for
/// every image: stream s of the counter-based generator under <see cref="ExplainOptions.Seed"/>, drawn on the
/// device (<see cref="Salient.Engine.Kernels.IKernelBackend.FillNormal"/>). They sum to y(x) − mean_s y(b_s).
/// </summary>
internal sealed class DeepLiftShap : DeepLift
{
    private readonly int _samples;
    private readonly float _stdev;

    public DeepLiftShap(Model model, ExplainOptions options)
        : base(model, options)
    {
        _samples = WholeParameter("samples", 1);
        _stdev = (float)ParameterIn("stdev", 0, double.MaxValue);
    }

    private protected override int BaselineCount => _samples;

    private protected override void FillBaseline(int sample, BufferView target) => Model.Backend.FillNormal(NoiseSeed, (ulong)sample, Baseline, _stdev, target);
}
