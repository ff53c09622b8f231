using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>Concat: float tensors are copied block by block; integer shape pieces are folded at plan time.</summary>
internal static class ConcatOperator
{
    public static Step? Plan(GraphNode node, PlanContext context)
    {
        var inputs = node.Inputs.Where(i => i.Length > 0).ToArray();
        var first = context.Shape(node, 0);
        var axis = (int)node.GetInt("axis", 1);
        axis = axis < 0 ? axis + first.Length : axis;
        if (axis < 0 || axis >= Math.Max(first.Length, 1))
        {
            throw context.Error(node, $"axis {node.GetInt("axis", 1)} is out of range for rank {first.Length}");
        }

        var shape = (int[])first.Clone();
        var shapes = new int[inputs.Length][];
        for (var i = 0; i < inputs.Length; i++)
        {
            var s = shapes[i] = context.Shape(node, i);
            if (s.Length != first.Length || s.Where((d, k) => k != axis && d != first[k]).Any())
            {
                throw context.Error(node, $"input shapes [{Tensor.FormatShape(first)}] and [{Tensor.FormatShape(s)}] differ outside axis {axis}");
            }

            if (i > 0)
            {
                shape[axis] += s[axis];
            }
        }

        if (inputs.All(context.IsConstant) && Enumerable.Range(0, inputs.Length).Any(i => context.Constant(node, i).IsInteger))
        {
            if (first.Length != 1)
            {
                throw context.Error(node, "integer concatenation is folded for 1-D shape vectors only");
            }

            var values = Enumerable.Range(0, inputs.Length).SelectMany(i => context.Constant(node, i).AsInts()).ToArray();
            context.SetConstant(node.Outputs[0], ConstantValue.FromInts(values, shape));
            return null;
        }

        context.SetShape(node.Outputs[0], shape);
        return new ConcatStep(node, inputs, shapes, shape, axis);
    }

    private sealed class ConcatStep(GraphNode node, string[] inputs, int[][] shapes, int[] shape, int axis)
        : Step(node, inputs, [node.Outputs[0]])
    {
        public override void Run(StepContext context)
        {
            var output = context.Output(0, shape);
            for (var i = 0; i < shapes.Length; i++)
            {
                Copy(i, context.Input(i).Span, output.Span, toWhole: true);
            }
        }

        public override void Backward(BackwardContext context)
        {
            if (context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            for (var i = 0; i < shapes.Length; i++)
            {
                if (context.NeedsGradient(i))
                {
                    var part = Tensor.Uninitialized(shapes[i]);
                    Copy(i, part.Span, gradient.Span, toWhole: false);
                    context.AddGradient(i, part);
                }
            }
        }

        /// <summary>Copies part <paramref name="index"/> into its place in the whole, or back out of it.</summary>
        private void Copy(int index, Span<float> part, Span<float> whole, bool toWhole)
        {
            var outer = shape.Take(axis).Aggregate(1, (a, b) => a * b);
            var inner = shape.Skip(axis + 1).Aggregate(1, (a, b) => a * b);
            var outRow = shape[axis] * inner;
            var offset = shapes.Take(index).Sum(s => s[axis]) * inner;
            var block = shapes[index][axis] * inner;
            for (var o = 0; o < outer; o++)
            {
                var inPart = part.Slice(o * block, block);
                var inWhole = whole.Slice((o * outRow) + offset, block);
                if (toWhole)
                {
                    inPart.CopyTo(inWhole);
                }
                else
                {
                    inWhole.CopyTo(inPart);
                }
            }
        }
    }
}
