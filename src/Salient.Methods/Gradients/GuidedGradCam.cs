using Salient.Engine;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Salient.Methods.Cam;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Gradients;

/// <summary>
/// Guided Grad-CAM: the guided-backprop attribution weighted, channel by channel, by the Grad-CAM map at
/// <see cref="ExplainOptions.Layers"/>; the Grad-CAM maps stay on the model's device for the product.
/// </summary>
internal sealed class GuidedGradCam : GradientExplainer
{
    private readonly GradCam _gradCam;

    public GuidedGradCam(Model model, ExplainOptions options)
        : this(new GradCam(model, options with { Method = "gradcam", SmoothSamples = 0 }) { KeepsMapsOnDevice = true }, options)
    {
    }

    private GuidedGradCam(GradCam gradCam, ExplainOptions options)
        : base(gradCam.Model, options, gradCam.Layers)
    {
        _gradCam = gradCam;
    }

    private protected override IBackwardRules Rules => GuidedBackpropRules.Instance;

    private protected override void Weigh(Tensor batch, TargetSelection selection, IReadOnlyList<int>[] targets, Tensor?[][] attributions)
    {
        var backend = Model.Backend;
        var cams = _gradCam.Explain(batch, selection.Pinned(targets));
        try
        {
            var camIndex = 0;
            for (var b = 0; b < targets.Length; b++)
            {
                foreach (var raw in attributions[b])
                {
                    // Every channel of the attribution [C,H,W] times the CAM [H,W], on the device.
                    var cam = cams[camIndex++].Map;
                    backend.Binary(BinaryOp.Mul, raw!.Data, raw.Shape, cam.Data, cam.Shape, raw.Data, raw.Shape);
                }
            }
        }
        finally
        {
            foreach (var cam in cams)
            {
                cam.Dispose();
            }
        }
    }
}
