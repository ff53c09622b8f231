using Salient.Engine;
using Tensor = Salient.Engine.Tensor;

namespace Salient.Methods.Cam;

/// <summary>
/// Finer-CAM (Zhang et al., CVPR 2025; pytorch-grad-cam's FinerCAM over Grad-CAM): Grad-CAM of each
/// target explained against its <c>comparisons</c> nearest classes with weight <c>alpha</c>
/// (<see cref="TargetSelection.AgainstNearest"/>) instead of by its own logit.
/// </summary>
internal sealed class FinerCam : GradCam
{
    private readonly double _alpha;
    private readonly int _comparisons;

    public FinerCam(Model model, ExplainOptions options)
        : base(model, options)
    {
        _alpha = Parameter("alpha");
        _comparisons = WholeParameter("comparisons", 1);
    }

    protected override void Run(Tensor batch, TargetSelection selection, List<Explanation> results)
    {
        ArgumentNullException.ThrowIfNull(selection);
        if (selection.IsContrast)
        {
            throw new ArgumentException("finercam contrasts each target with its nearest classes itself; to name the classes to contrast with, use gradcam with contrast:A,B or weights:A=W,B=W.");
        }

        base.Run(batch, TargetSelection.AgainstNearest(selection, _alpha, _comparisons), results);
    }
}
