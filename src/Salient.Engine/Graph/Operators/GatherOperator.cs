using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Gather of image data at constant indices (ViT's class token, x[:, 0]): one index is a strided
/// copy, several copy one block per index. Constant data is folded by <see cref="ConstantEvaluator"/>.
/// </summary>
internal static class GatherOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var x = context.Shape(node, 0);
        var axis = Strided.Axis(node, context, x.Length, 0);

        var indices = context.Constant(node, 1);
        var picked = indices.AsInts().Select(i => i < 0 ? i + x[axis] : i).ToArray();
        if (picked.Any(i => i < 0 || i >= x[axis]))
        {
            throw context.Error(node, $"an index is out of range for axis {axis} of [{Tensor.FormatShape(x)}]");
        }

        int[] shape = [.. x.Take(axis), .. indices.Shape, .. x.Skip(axis + 1)];
        context.SetShape(node.Outputs[0], shape);
        if (indices.Shape.Length == 0)
        {
            var strides = Strided.Strides(x);
            return new StridedCopyStep(node, x, (int)picked[0] * strides[axis], [.. strides.Where((_, d) => d != axis)], shape, shape);
        }

        return new GatherStep(node, x, shape, axis, [.. picked.Select(i => (int)i)]);
    }

    private sealed class GatherStep(GraphNode node, int[] inShape, int[] shape, int axis, int[] indices) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        private readonly int _outer = Strided.Product(inShape.AsSpan(0, axis));
        private readonly int _inner = Strided.Product(inShape.AsSpan(axis + 1));

        public override bool ReadsInputInBackward(int index) => false;

        public override bool ReadsOutputInBackward => false;

        public override void Run(StepContext context)
        {
            var input = context.Input(0).Span;
            var output = context.Output(0, shape).Span;
            for (var o = 0; o < _outer; o++)
            {
                for (var k = 0; k < indices.Length; k++)
                {
                    input.Slice(((o * inShape[axis]) + indices[k]) * _inner, _inner).CopyTo(output.Slice(((o * indices.Length) + k) * _inner, _inner));
                }
            }
        }

        public override void Backward(BackwardContext context)
        {
            if (!context.NeedsGradient(0) || context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var input = Tensor.Zeros(inShape);
            for (var o = 0; o < _outer; o++)
            {
                for (var k = 0; k < indices.Length; k++)
                {
                    var target = input.Span.Slice(((o * inShape[axis]) + indices[k]) * _inner, _inner);
                    System.Numerics.Tensors.TensorPrimitives.Add(target, gradient.Span.Slice(((o * indices.Length) + k) * _inner, _inner), target);
                }
            }

            context.AddGradient(0, input);
        }
    }
}
