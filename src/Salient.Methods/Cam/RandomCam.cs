using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Cam;

/// <summary>
/// Random-CAM, a baseline for metrics (pytorch-grad-cam's RandomCAM): w_k drawn uniformly from
/// [−1, 1]. The draws come from a generator seeded by <see cref="ExplainOptions.Seed"/> and the target
/// class, so a map depends neither on the other images of the batch nor on the run.
/// </summary>
internal sealed class RandomCam(Model model, ExplainOptions options) : CamExplainer(model, options)
{
    protected override Tensor[] RawMaps(CamLayer layer, int image, IReadOnlyList<int> targets)
    {
        var k = layer.Activations.Dim(1);
        return [.. targets.Select(target =>
        {
            var random = new Random(unchecked((Options.Seed * 1_000_003) + target));
            var weights = new float[k];
            for (var c = 0; c < k; c++)
            {
                weights[c] = (float)((2 * random.NextDouble()) - 1);
            }

            return WeightedSum(layer.Activations, image, weights);
        })];
    }
}
