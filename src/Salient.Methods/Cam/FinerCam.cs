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
        // Explain refuses contrast and weighted-sum targets (not registered with MethodOptions.WeightedTargets): Finer-CAM chooses its own contrast.
        ArgumentNullException.ThrowIfNull(selection);
        base.Run(batch, TargetSelection.AgainstNearest(selection, _alpha, _comparisons), results);
    }
}
