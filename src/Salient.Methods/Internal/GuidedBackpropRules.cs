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

        var input = Tensor.Uninitialized(gradient.Shape);
        context.Backend.ActivateBackward(activation.Activation, context.Input(0).Span, context.Output(0).Span, gradient.Span, input.Span);
        var dx = input.Span;
        var dy = gradient.Span;
        for (var i = 0; i < dx.Length; i++)
        {
            if (dy[i] <= 0f)
            {
                dx[i] = 0f;
            }
        }

        context.AddGradient(0, input);
        return true;
    }

    public void OnGradient(string value, Tensor gradient)
    {
    }
}
