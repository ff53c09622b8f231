using System.Numerics.Tensors;
using Salient.Engine;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Methods.Attribution;

/// <summary>
/// Deconvolution (Zeiler and Fergus; Captum's Deconvolution): the input gradient with every ReLU
/// (and ReLU6, a Clip to [0, 6]) passing relu(gradient), whatever its input was.
/// </summary>
internal sealed class Deconvolution(Model model, ExplainOptions options) : GradientExplainer(model, options)
{
    private protected override IBackwardRules Rules => DeconvolutionRules.Instance;

    private sealed class DeconvolutionRules : IBackwardRules
    {
        public static DeconvolutionRules Instance { get; } = new();

        public bool AllowsFusedSteps => true;

        public bool TryBackward(Step step, BackwardContext context)
        {
            if (step.Kind != StepKind.Activation || step.Activation.Kind is not (ActivationKind.Relu or ActivationKind.Clip)
                || context.OutputGradient(0) is not { } gradient || !context.NeedsGradient(0))
            {
                return false;
            }

            var input = context.ReuseOutputGradient(0);
            TensorPrimitives.Max(gradient.Span, 0f, input.Span);
            context.AddGradient(0, input);
            return true;
        }

        // A ReLU or Clip fused into the step before it gets the same rule; other activations their gradient.
        public void ActivationBackward(in FusedActivation activation, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient,
            Span<float> inputGradient, IKernelBackend backend)
        {
            if (activation.Kind is ActivationKind.Relu or ActivationKind.Clip)
            {
                TensorPrimitives.Max(outputGradient, 0f, inputGradient);
            }
            else
            {
                backend.ActivateBackward(activation, output, output, outputGradient, inputGradient);
            }
        }
    }
}
