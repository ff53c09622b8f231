using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;
using Salient.Methods.Internal;

namespace Salient.Methods.Attribution;

/// <summary>
/// Deconvolution (Zeiler and Fergus; Captum's Deconvolution): the input gradient with every ReLU
/// (and ReLU6, a Clip to [0, 6]) passing relu(gradient), whatever its input was.
/// </summary>
internal sealed class Deconvolution(Model model, ExplainOptions options) : GradientExplainer(model, options)
{
    private protected override IBackwardRules Rules => DeconvolutionRules.Instance;

    private sealed class DeconvolutionRules : ReluBackwardOverride
    {
        public static DeconvolutionRules Instance { get; } = new();

        // ReLU and Clip pass relu(gradient) whatever their input; other fused activations keep their gradient.
        public override void ActivationBackward(in FusedActivation activation, BufferView output, BufferView outputGradient,
            BufferView inputGradient, IKernelBackend backend)
        {
            if (activation.Kind is ActivationKind.Relu or ActivationKind.Clip)
            {
                backend.Map(new MapFunction(MapFunctionKind.Relu), outputGradient, inputGradient);
            }
            else
            {
                backend.ActivateBackward(activation, output, output, outputGradient, inputGradient);
            }
        }
    }
}
