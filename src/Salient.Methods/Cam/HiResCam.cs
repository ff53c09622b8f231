using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Methods.Cam;

/// <summary>HiResCAM: the element-wise Σ_k G_k·A_k.</summary>
internal sealed class HiResCam(Model model, ExplainOptions options) : GradientWeightedCam(model, options)
{
    protected override void CombineChannels(IKernelBackend backend, int channels, int plane, BufferView activations, BufferView gradients, BufferView map) =>
        backend.ChannelProductSum(ChannelProduct.Product, channels, plane, activations, gradients, map);
}
