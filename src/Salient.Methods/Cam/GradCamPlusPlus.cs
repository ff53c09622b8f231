using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Methods.Cam;

/// <summary>Grad-CAM++: α = G² / (2G² + ΣA·G³ + 1e-6), 0 where G = 0; w_k = Σ relu(G)·α.</summary>
internal sealed class GradCamPlusPlus(Model model, ExplainOptions options) : GradientWeightedCam(model, options)
{
    protected override void CombineChannels(IKernelBackend backend, int channels, int plane, BufferView activations, BufferView gradients, BufferView map) =>
        WeighChannels(backend, ChannelWeighting.PositiveGradientAlpha, channels, plane, activations, gradients, map);
}
