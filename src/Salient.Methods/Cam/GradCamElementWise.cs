using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Methods.Cam;

/// <summary>Grad-CAM element-wise (pytorch-grad-cam's GradCAMElementWise): Σ_k relu(G_k ⊙ A_k), the ReLU taken before the channel sum.</summary>
internal sealed class GradCamElementWise(Model model, ExplainOptions options) : GradientWeightedCam(model, options)
{
    protected override void CombineChannels(IKernelBackend backend, int channels, int plane, BufferView activations, BufferView gradients, BufferView map) =>
        backend.ChannelProductSum(ChannelProduct.RectifiedProduct, channels, plane, activations, gradients, map);
}
