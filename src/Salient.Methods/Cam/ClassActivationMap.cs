using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Cam;

/// <summary>CAM (Zhou et al.): the layer's channels weighted by the classifier's weights of the target; needs a GlobalAveragePool → Linear head after each layer.</summary>
internal sealed class ClassActivationMap : CamExplainer
{
    private readonly Dictionary<string, float[,]> _weights;

    public ClassActivationMap(Model model, ExplainOptions options)
        : base(model, options)
    {
        _weights = Layers.Distinct().ToDictionary(layer => layer, Architecture.ClassifierWeightsAfter);
    }

    protected override Tensor[] RawMaps(CamLayer layer, int image, IReadOnlyList<int> targets)
    {
        var weights = _weights[layer.Name];
        var channels = new float[weights.GetLength(1)];
        return [.. targets.Select(target =>
        {
            for (var c = 0; c < channels.Length; c++)
            {
                channels[c] = weights[target, c];
            }

            return WeightedSum(layer.Activations, image, channels);
        })];
    }
}
