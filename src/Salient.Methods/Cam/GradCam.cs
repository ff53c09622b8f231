using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Methods.Cam;

/// <summary>Grad-CAM: w_k = mean of the gradient over channel k's positions.</summary>
internal class GradCam(Model model, ExplainOptions options) : GradientWeightedCam(model, options)
{
    protected override void CombineChannels(IKernelBackend backend, int channels, int plane, BufferView activations, BufferView gradients, BufferView map) =>
        WeighChannels(backend, ChannelWeighting.GradientMean, channels, plane, activations, gradients, map);
}
