using Salient.Engine;
using Salient.Engine.Devices;
using Salient.Engine.Graph;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Methods.Internal;

/// <summary>Guided backpropagation: ReLU (and ReLU6/Clip) pass only positive gradients where the forward passed: grad·1[forward passed]·1[grad &gt; 0].</summary>
internal sealed class GuidedBackpropRules : ReluBackwardOverride
{
    public static GuidedBackpropRules Instance { get; } = new();

    // dy·1[passed], then max(·, 0) zeroes exactly where dy ≤ 0 too; both passes work in place.
    public override void ActivationBackward(in FusedActivation activation, BufferView output, BufferView outputGradient,
        BufferView inputGradient, IKernelBackend backend)
    {
        backend.ActivateBackward(activation, output, output, outputGradient, inputGradient);
        backend.Map(new MapFunction(MapFunctionKind.Relu), inputGradient, inputGradient);
    }
}
