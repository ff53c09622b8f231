using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Backward;

/// <summary>
/// How an explanation method changes the backward pass (guided backprop, TSGB, gradient
/// truncation, the CSG gate) without copying the executor: per-step rule overrides and per-value
/// gradient hooks. Pass an implementation to <see cref="Model.Backward"/>; rules tell steps apart
/// by <see cref="Step.Kind"/> (docs/architecture.md, "Backward rules").
/// </summary>
public interface IBackwardRules
{
    /// <summary>Computes the step's input gradients its own way and returns true, or returns false for the ordinary vector-Jacobian product.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716", Justification = "Step is the planner's word throughout the engine and its docs; Salient's API targets C#.")]
    bool TryBackward(Step step, BackwardContext context) => false;

    /// <summary>
    /// Sees the complete gradient of <paramref name="value"/> before it flows further back, and may
    /// change it in place (e.g. truncation at a block output).
    /// </summary>
    void OnGradient(string value, Tensor gradient)
    {
    }

    /// <summary>
    /// Whether these rules work with fused steps in the gradient region: a ReLU or Clip fused into the
    /// step before it (seen through <see cref="ActivationBackward"/>) and a batch norm folded into its
    /// convolution; when false every operator there stays a step of its own, as rules that override
    /// activation or batch-norm steps, or hook every value, need.
    /// </summary>
    bool AllowsFusedSteps => false;

    /// <summary>
    /// The input gradient of a ReLU or Clip judged from its output alone (y &gt; 0; min &lt; y &lt; max,
    /// the same as from its input), written to <paramref name="inputGradient"/>, which may be
    /// <paramref name="outputGradient"/>.
    /// </summary>
    void ActivationBackward(in FusedActivation activation, BufferView output, BufferView outputGradient,
        BufferView inputGradient, IKernelBackend backend) =>
        backend.ActivateBackward(activation, output, output, outputGradient, inputGradient);
}
