namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Equal, Less and Greater on image data, with numpy broadcasting: 1 where true, 0 where false, as
/// floats (the engine's only run-time type; Where reads them back). No gradient flows through a
/// comparison. Comparisons of constants are folded by <see cref="ConstantEvaluator"/>.
/// </summary>
internal static class CompareOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var a = context.Shape(node, 0);
        var b = context.Shape(node, 1);
        var shape = BinaryOperator.BroadcastShape(a, b) ?? throw context.Error(node, $"shapes [{Tensor.FormatShape(a)}] and [{Tensor.FormatShape(b)}] do not broadcast");
        Func<float, float, bool> compare = node.OpType switch
        {
            "Equal" => (x, y) => x == y,
            "Less" => (x, y) => x < y,
            _ => (x, y) => x > y,
        };
        context.SetShape(node.Outputs[0], shape);
        return new CompareStep(node, a, b, shape, compare);
    }

    private sealed class CompareStep(GraphNode node, int[] aShape, int[] bShape, int[] shape, Func<float, float, bool> compare)
        : Step(node, [node.Inputs[0], node.Inputs[1]], [node.Outputs[0]])
    {
        public override bool ReadsInputInBackward(int index) => false;

        public override bool ReadsOutputInBackward => false;

        public override void Run(StepContext context)
        {
            var length = Tensor.CheckedLength(shape);
            var a = new float[length];
            var b = new float[length];
            Strided.Gather(context.Input(0).Span, 0, ExpandOperator.BroadcastStrides(aShape, shape), shape, a);
            Strided.Gather(context.Input(1).Span, 0, ExpandOperator.BroadcastStrides(bShape, shape), shape, b);
            var y = context.Output(0, shape).Span;
            for (var i = 0; i < length; i++)
            {
                y[i] = compare(a[i], b[i]) ? 1f : 0f;
            }
        }

        // A comparison is piecewise constant: its inputs get no gradient from it.
        public override void Backward(Backward.BackwardContext context)
        {
        }
    }
}
