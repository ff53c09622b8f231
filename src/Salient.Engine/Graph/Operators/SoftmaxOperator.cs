using System.Numerics.Tensors;
using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Softmax. From opset 13 it normalises one axis; before that it flattens to 2-D at the axis
/// (default 1) and normalises each row, which for the last axis is the same thing.
/// </summary>
internal static class SoftmaxOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var axis = (int)node.GetInt("axis", context.Opset >= 13 ? -1 : 1);
        axis = axis < 0 ? axis + x.Length : axis;
        if (axis < 0 || axis >= x.Length)
        {
            throw context.Error(node, $"axis {node.GetInt("axis", -1)} is out of range for rank {x.Length}");
        }

        var cols = context.Opset >= 13 ? x[axis] : x.Skip(axis).Aggregate(1, (a, b) => a * b);
        if (context.Opset >= 13 && axis != x.Length - 1)
        {
            throw context.Error(node, "softmax over an axis other than the last is not supported");
        }

        context.SetShape(node.Outputs[0], x);
        return new SoftmaxStep(node, x, Tensor.CheckedLength(x) / Math.Max(cols, 1), cols);
    }

    private sealed class SoftmaxStep(GraphNode node, int[] shape, int rows, int cols) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        public override int InPlaceInput => 0;

        public override void Backward(BackwardContext context)
        {
            if (!context.NeedsGradient(0) || context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            // dx = y ⊙ (dy − Σ dy·y), row by row.
            var input = Tensor.Uninitialized(shape);
            var y = context.Output(0).Span;
            for (var r = 0; r < rows; r++)
            {
                var yr = y.Slice(r * cols, cols);
                var dy = gradient.Span.Slice(r * cols, cols);
                var dx = input.Span.Slice(r * cols, cols);
                TensorPrimitives.Subtract(dy, TensorPrimitives.Dot(dy, yr), dx);
                TensorPrimitives.Multiply(dx, yr, dx);
            }

            context.AddGradient(0, input);
        }

        public override void Run(StepContext context)
        {
            var output = context.Output(0, shape);
            context.Backend.Softmax(rows, cols, context.Input(0).Span, output.Span);
        }
    }
}
