using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// A step whose output reads its input at offset + Σ index·stride (Transpose, Slice, Expand, Tile,
/// Gather of one index): one <see cref="Kernels.IKernelBackend.StridedCopy"/> forward, one scatter-add of the
/// gradient into zeros backward.
/// </summary>
internal sealed class StridedCopyStep(GraphNode node, int[] inShape, int offset, int[] strides, int[] copyShape, int[] shape)
    : Step(node, [node.Inputs[0]], [node.Outputs[0]])
{
    private readonly int[] _dense = Strided.Strides(copyShape);

    public override bool ReadsInputInBackward(int index) => false;

    public override bool ReadsOutputInBackward => false;

    // Linear in its input: the same computation carries the tangent.
    public override void Tangent(TangentContext context) => context.Linear();

    // Linear in its input: the gradient tangent takes the gradient's way back, with no curvature term.
    public override void GradientTangent(SecondOrderContext context) => context.ThroughBackward();

    public override bool ReadsTangentsInSecondOrder => false;

    public override void Run(StepContext context)
    {
        var output = context.Output(0, shape);
        context.Backend.StridedCopy(copyShape, context.Input(0).Data, offset, strides, output.Data, 0, _dense, accumulate: false);
    }

    public override void Backward(BackwardContext context)
    {
        if (context.NeedsGradient(0) && context.OutputGradient(0) is { } gradient)
        {
            var input = Tensor.Zeros(context.Backend, inShape);
            context.Backend.StridedCopy(copyShape, gradient.Data, 0, _dense, input.Data, offset, strides, accumulate: true);
            context.AddGradient(0, input);
        }
    }
}
