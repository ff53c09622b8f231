using Salient.Engine;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Graph.Operators;
using Salient.Engine.Kernels;

namespace Salient.Methods.Internal;

/// <summary>Guided backpropagation: ReLU (and ReLU6/Clip) pass only positive gradients where the forward passed: grad·1[forward passed]·1[grad &gt; 0].</summary>
internal sealed class GuidedBackpropRules : IBackwardRules
{
    public static GuidedBackpropRules Instance { get; } = new();

    public bool TryBackward(Step step, BackwardContext context)
    {
        if (step is not ActivationOperator.ActivationStep { Activation.Kind: ActivationKind.Relu or ActivationKind.Clip } activation
            || context.OutputGradient(0) is not { } gradient || !context.NeedsGradient(0))
        {
            return false;
        }

        // dy·1[passed], then max(·, 0) zeroes exactly where dy ≤ 0 too; both passes work in place.
        var input = context.ReuseOutputGradient(0);
        context.Backend.ActivateBackward(activation.Activation, context.Input(0).Span, context.Output(0).Span, gradient.Span, input.Span);
        System.Numerics.Tensors.TensorPrimitives.Max(input.Span, 0f, input.Span);
        context.AddGradient(0, input);
        return true;
    }

    public void OnGradient(string value, Tensor gradient)
    {
    }
}
