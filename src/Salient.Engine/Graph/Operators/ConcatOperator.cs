using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>Concat: float tensors are copied block by block (strided copies); constant pieces are folded at plan time (<see cref="ConstantEvaluator"/>).</summary>
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

        context.SetShape(node.Outputs[0], shape);
        return new ConcatStep(node, inputs, shapes, shape, axis);
    }

    private sealed class ConcatStep(GraphNode node, string[] inputs, int[][] shapes, int[] shape, int axis)
        : Step(node, inputs, [node.Outputs[0]])
    {
        private readonly PartCopy _parts = new(shape, axis, [.. shapes.Select(s => s[axis])]);

        public override bool ReadsInputInBackward(int index) => false;

        public override bool ReadsOutputInBackward => false;

        // Linear in its inputs together: the same computation carries the tangents, zeros for inputs that have none.
        public override void Tangent(TangentContext context) => context.Linear();

        // Linear in its inputs: the gradient tangent takes the gradient's way back, with no curvature term.
        public override void GradientTangent(SecondOrderContext context) => context.ThroughBackward();

        public override bool ReadsTangentsInSecondOrder => false;

        public override void Run(StepContext context)
        {
            var output = context.Output(0, shape);
            for (var i = 0; i < shapes.Length; i++)
            {
                _parts.ToWhole(context.Backend, i, context.Input(i).Data, output.Data);
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
                    var part = Tensor.Uninitialized(context.Backend, shapes[i]);
                    _parts.FromWhole(context.Backend, i, gradient.Data, part.Data);
                    context.AddGradient(i, part);
                }
            }
        }
    }
}
