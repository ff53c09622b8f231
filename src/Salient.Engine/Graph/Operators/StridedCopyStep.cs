using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// A step whose output reads its input at offset + Σ index·stride (Transpose, Slice, Expand, Tile,
/// Gather of one index): one copy forward, one scatter-add of the gradient backward.
/// </summary>
internal sealed class StridedCopyStep(GraphNode node, int[] inShape, int offset, int[] strides, int[] copyShape, int[] shape)
    : Step(node, [node.Inputs[0]], [node.Outputs[0]])
{
    public override bool ReadsInputInBackward(int index) => false;

    public override bool ReadsOutputInBackward => false;

    public override void Run(StepContext context)
    {
        var output = context.Output(0, shape);
        Strided.Gather<float>(context.Input(0).Span, offset, strides, copyShape, output.Span);
    }

    public override void Backward(BackwardContext context)
    {
        if (context.NeedsGradient(0) && context.OutputGradient(0) is { } gradient)
        {
            var input = Tensor.Zeros(inShape);
            Strided.ScatterAdd(gradient.Span, copyShape, input.Span, offset, strides);
            context.AddGradient(0, input);
        }
    }
}
