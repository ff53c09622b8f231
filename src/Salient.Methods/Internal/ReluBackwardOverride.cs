using Salient.Engine.Devices;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Methods.Internal;

/// <summary>
/// Backward rules that replace the gradient of every ReLU and ReLU6 (a Clip), standalone or fused into the step
/// before it, with their own <see cref="ActivationBackward"/>; every other step keeps its gradient.
/// </summary>
internal abstract class ReluBackwardOverride : IBackwardRules
{
    public bool AllowsFusedSteps => true;

    public bool TryBackward(Step step, BackwardContext context)
    {
        if (step.Kind != StepKind.Activation || step.Activation.Kind is not (ActivationKind.Relu or ActivationKind.Clip)
            || context.OutputGradient(0) is not { } gradient || !context.NeedsGradient(0))
        {
            return false;
        }

        var input = context.ReuseOutputGradient(0);
        ActivationBackward(step.Activation, context.Output(0).Data, gradient.Data, input.Data, context.Backend);
        context.AddGradient(0, input);
        return true;
    }

    public abstract void ActivationBackward(in FusedActivation activation, BufferView output, BufferView outputGradient,
        BufferView inputGradient, IKernelBackend backend);
}
