using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Cam;

/// <summary>
/// FEM, the feature explanation method (pytorch-grad-cam's FEM): w_k = the share of channel k's
/// positions above its mean + k·σ (population σ over the positions); raw = Σ_k w_k A_k. Needs no
/// gradients and does not depend on the target.
/// </summary>
internal sealed class Fem : CamExplainer
{
    private readonly double _k;

    public Fem(Model model, ExplainOptions options)
        : base(model, options)
    {
        _k = ParameterIn("k", 0, 100);
    }

    protected override Tensor[] RawMaps(CamLayer layer, int image, IReadOnlyList<int> targets)
    {
        var activations = layer.Activations;
        var (k, plane) = (activations.Dim(1), activations.Dim(2) * activations.Dim(3));
        var a = activations.Span.Slice(image * k * plane, k * plane);
        var weights = new float[k];
        for (var c = 0; c < k; c++)
        {
            var channel = a.Slice(c * plane, plane);
            double sum = 0, squares = 0;
            foreach (var v in channel)
            {
                sum += v;
                squares += (double)v * v;
            }

            var mean = sum / plane;
            var threshold = mean + (_k * Math.Sqrt(Math.Max(squares / plane - (mean * mean), 0)));
            var above = 0;
            foreach (var v in channel)
            {
                above += v > threshold ? 1 : 0;
            }

            weights[c] = (float)above / plane;
        }

        return [.. targets.Select(_ => WeightedSum(activations, image, weights))];
    }
}
