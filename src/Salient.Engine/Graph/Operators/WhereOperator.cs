using Salient.Engine.Devices;
using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// Where(condition, X, Y) with numpy broadcasting. A constant condition (a mask) is read once at plan
/// time; a computed one is a 0/1 float tensor from a comparison. The gradient goes to X where the
/// condition holds and to Y elsewhere.
/// </summary>
internal static class WhereOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var c = context.Shape(node, 0);
        var x = context.Shape(node, 1);
        var y = context.Shape(node, 2);
        var shape = BinaryOperator.BroadcastShape(BinaryOperator.BroadcastShape(c, x) ?? [.. c.Select(_ => -1)], y);
        if (shape is null || shape.Any(d => d < 0))
        {
            throw context.Error(node, $"shapes [{Tensor.FormatShape(c)}], [{Tensor.FormatShape(x)}] and [{Tensor.FormatShape(y)}] do not broadcast");
        }

        context.SetShape(node.Outputs[0], shape);
        if (context.IsConstant(node.Inputs[0]))
        {
            var mask = context.Constant(node, 0).AsFloats();
            var condition = new float[Tensor.CheckedLength(shape)];
            Strided.Gather<float>(mask, 0, ExpandOperator.BroadcastStrides(c, shape), shape, condition);
            return new WhereStep(node, [node.Inputs[1], node.Inputs[2]], condition, c, x, y, shape);
        }

        return new WhereStep(node, [node.Inputs[0], node.Inputs[1], node.Inputs[2]], null, c, x, y, shape);
    }

    private sealed class WhereStep(GraphNode node, string[] inputs, float[]? mask, int[] cShape, int[] xShape, int[] yShape, int[] shape)
        : Step(node, inputs, [node.Outputs[0]])
    {
        private int First => mask is null ? 1 : 0;

        public override bool ReadsInputInBackward(int index) => index < First;

        public override bool ReadsOutputInBackward => false;

        private float[] Condition(Func<int, Tensor> input)
        {
            if (mask is not null)
            {
                return mask;
            }

            var condition = new float[Tensor.CheckedLength(shape)];
            Strided.Gather(input(0).Span, 0, ExpandOperator.BroadcastStrides(cShape, shape), shape, condition);
            return condition;
        }

        public override void Run(StepContext context)
        {
            var condition = Condition(context.Input);
            var length = condition.Length;
            var x = new float[length];
            var y = new float[length];
            Strided.Gather(context.Input(First).Span, 0, ExpandOperator.BroadcastStrides(xShape, shape), shape, x);
            Strided.Gather(context.Input(First + 1).Span, 0, ExpandOperator.BroadcastStrides(yShape, shape), shape, y);
            var output = context.Output(0, shape).Span;
            for (var i = 0; i < length; i++)
            {
                output[i] = condition[i] != 0f ? x[i] : y[i];
            }
        }

        public override void Backward(BackwardContext context)
        {
            if (context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var condition = Condition(context.Input);
            for (var branch = 0; branch < 2; branch++)
            {
                if (!context.NeedsGradient(First + branch))
                {
                    continue;
                }

                var selected = new float[condition.Length];
                for (var i = 0; i < selected.Length; i++)
                {
                    selected[i] = (condition[i] != 0f) == (branch == 0) ? gradient.Span[i] : 0f;
                }

                var target = branch == 0 ? xShape : yShape;
                var result = Tensor.Uninitialized(context.Backend, target);
                context.Backend.ReduceToShape(BufferView.Host(selected), shape, result.Data, target);
                context.AddGradient(First + branch, result);
            }
        }
    }
}
