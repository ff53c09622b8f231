using System.Numerics.Tensors;
using Salient.Engine;
using Salient.Engine.Graph.Backward;
using Salient.Methods.Cam;
using Salient.Methods.Internal;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Gradients;

/// <summary>Guided Grad-CAM: the guided-backprop attribution weighted, channel by channel, by the Grad-CAM map at <see cref="ExplainOptions.Layers"/>.</summary>
internal sealed class GuidedGradCam : GradientExplainer
{
    private readonly GradCam _gradCam;

    public GuidedGradCam(Model model, ExplainOptions options)
        : this(new GradCam(model, options with { Method = "gradcam", SmoothSamples = 0 }), options)
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
        var cams = _gradCam.Explain(batch, selection.Pinned(targets));
        try
        {
            var camIndex = 0;
            for (var b = 0; b < targets.Length; b++)
            {
                foreach (var raw in attributions[b])
                {
                    var cam = cams[camIndex++].Map.Span;
                    for (var c = 0; c < raw!.Dim(0); c++)
                    {
                        var plane = raw.Span.Slice(c * cam.Length, cam.Length);
                        TensorPrimitives.Multiply(plane, cam, plane);
                    }
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
