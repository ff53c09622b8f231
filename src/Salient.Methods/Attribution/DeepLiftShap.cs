using Salient.Engine;
using Salient.Methods.Internal;

namespace Salient.Methods.Attribution;

/// <summary>
/// DeepLIFT-SHAP (Lundberg and Lee, NeurIPS 2017; Captum's DeepLiftShap): DeepLIFT's attribution
/// averaged over <c>samples</c> baselines b_s = <c>baseline</c> + N(0, <c>stdev</c>²) per value, drawn
/// from the generator seeded by <see cref="ExplainOptions.Seed"/>, the same for every image. They sum
/// to y(x) − mean_s y(b_s).
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

    private protected override IEnumerable<float[]> Baselines(int perImage)
    {
        var random = new Random(Options.Seed);
        for (var s = 0; s < _samples; s++)
        {
            var baseline = new float[perImage];
            for (var i = 0; i < perImage; i++)
            {
                baseline[i] = Baseline + (_stdev * MapMath.Gaussian(random));
            }

            yield return baseline;
        }
    }
}
