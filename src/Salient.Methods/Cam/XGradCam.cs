using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Methods.Cam;

/// <summary>XGrad-CAM: w_k = Σ G·A / (Σ A + 1e-7).</summary>
internal sealed class XGradCam(Model model, ExplainOptions options) : GradientWeightedCam(model, options)
{
    protected override void CombineChannels(IKernelBackend backend, int channels, int plane, BufferView activations, BufferView gradients, BufferView map) =>
        WeighChannels(backend, ChannelWeighting.ActivationNormalizedGradient, channels, plane, activations, gradients, map);
}
