using Salient.Engine;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Methods.Internal;

/// <summary>
/// Denoising's <c>backprop</c> mode: the floor truncation applied, image by image, to the gradient
/// at every block output (ReLU, Clip or residual Add) on the way from the head down to the shallow
/// layers, on the model's device. The explained layers themselves are left to the CAM, so the deep layer stays untouched.
/// </summary>
internal sealed class TruncationRules : IBackwardRules
{
    private readonly HashSet<string> _blockOutputs;
    private readonly float _quantile;
    private readonly IKernelBackend _backend;

    public TruncationRules(Model model, IReadOnlyList<string> layers, string deepLayer, float quantile)
    {
        _quantile = quantile;
        _backend = model.Backend;
        _blockOutputs = [.. model.Graph.Nodes.Where(n => n.OpType is "Relu" or "Clip" or "Add").SelectMany(n => n.Outputs)];
        _blockOutputs.ExceptWith(layers);
        _blockOutputs.Remove(deepLayer);
    }

    public void OnGradient(string value, Tensor gradient)
    {
        if (!_blockOutputs.Contains(value) || gradient.Rank < 2 || gradient.Length == 0)
        {
            return;
        }

        _backend.TruncatePositives(QuantileTruncation.Floor, _quantile, gradient.Dim(0), gradient.Data);
    }
}
