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

        // Linear in its input: the same computation carries the tangent.
        public override void Tangent(TangentContext context) => context.Linear();

        // Linear in its inputs: the gradient tangent takes the gradient's way back, with no curvature term.
        public override void GradientTangent(SecondOrderContext context) => context.ThroughBackward();

        public override bool ReadsTangentsInSecondOrder => false;

        // Index k's block of every outer row, as a strided copy: [outer, inner] at its place in the input and in the output.
        private int[] Shape => [_outer, _inner];

        private int[] InputStrides => [inShape[axis] * _inner, 1];

        private int[] OutputStrides => [indices.Length * _inner, 1];

        public override void Run(StepContext context)
        {
            var input = context.Input(0).Data;
            var output = context.Output(0, shape).Data;
            for (var k = 0; k < indices.Length; k++)
            {
                context.Backend.StridedCopy(Shape, input, indices[k] * _inner, InputStrides, output, k * _inner, OutputStrides, accumulate: false);
            }
        }

        public override void Backward(BackwardContext context)
        {
            if (!context.NeedsGradient(0) || context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var input = Tensor.Zeros(context.Backend, inShape);
            for (var k = 0; k < indices.Length; k++)
            {
                context.Backend.StridedCopy(Shape, gradient.Data, k * _inner, OutputStrides, input.Data, indices[k] * _inner, InputStrides, accumulate: true);
            }

            context.AddGradient(0, input);
        }
    }
}
