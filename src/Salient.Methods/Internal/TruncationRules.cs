using Salient.Engine;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;

namespace Salient.Methods.Internal;

/// <summary>
/// Denoising's <c>backprop</c> mode: the floor truncation applied, image by image, to the gradient
/// at every block output (ReLU, Clip or residual Add) on the way from the head down to the shallow
/// layers. The explained layers themselves are left to the host CAM, so the deep layer stays untouched.
/// </summary>
internal sealed class TruncationRules : IBackwardRules
{
    private readonly HashSet<string> _blockOutputs;
    private readonly float _quantile;

    public TruncationRules(Model model, IReadOnlyList<string> layers, string deepLayer, float quantile)
    {
        _quantile = quantile;
        _blockOutputs = [.. model.Graph.Nodes.Where(n => n.OpType is "Relu" or "Clip" or "Add").SelectMany(n => n.Outputs)];
        _blockOutputs.ExceptWith(layers);
        _blockOutputs.Remove(deepLayer);
    }

    public void OnGradient(string value, Tensor gradient)
    {
        if (!_blockOutputs.Contains(value) || gradient.Rank < 2)
        {
            return;
        }

        var perImage = gradient.Length / gradient.Dim(0);
        for (var b = 0; b < gradient.Dim(0); b++)
        {
            Truncation.Apply(DenoiseMode.Floor, _quantile, gradient.Span.Slice(b * perImage, perImage));
        }
    }
}
