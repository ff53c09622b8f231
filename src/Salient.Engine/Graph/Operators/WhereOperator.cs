using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

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
        // The plan-time mask as one host tensor for the plan's life, so a device uploads it once.
        private readonly Tensor? _mask = mask is null ? null : Tensor.Wrap(mask, shape);

        private int First => mask is null ? 1 : 0;

        public override bool ReadsInputInBackward(int index) => index < First;

        public override bool ReadsOutputInBackward => false;

        public override void Run(StepContext context)
        {
            var backend = context.Backend;
            using var computed = Computed(backend, context.Input);
            using var x = ExpandOperator.Broadcast(backend, context.Input(First), xShape, shape);
            using var y = ExpandOperator.Broadcast(backend, context.Input(First + 1), yShape, shape);
            backend.Choose((computed ?? _mask!).Data, x.Data, y.Data, context.Output(0, shape).Data);
        }

        // For a fixed condition (piecewise constant in whatever it is computed from) linear in both branches.
        public override void Tangent(TangentContext context) => context.Linear([.. Enumerable.Range(0, First)]);

        // Linear in the values for the recorded condition: no curvature term.
        public override void GradientTangent(SecondOrderContext context) => context.ThroughBackward();

        public override bool ReadsTangentsInSecondOrder => false;

        public override void Backward(BackwardContext context)
        {
            if (context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var backend = context.Backend;
            using var computed = Computed(backend, context.Input);
            var condition = (computed ?? _mask!).Data;
            for (var branch = 0; branch < 2; branch++)
            {
                if (!context.NeedsGradient(First + branch))
                {
                    continue;
                }

                // The gradient where this branch was taken, summed back to the branch's shape.
                using var selected = Tensor.Uninitialized(backend, shape);
                backend.Choose(condition, branch == 0 ? gradient.Data : default, branch == 0 ? default : gradient.Data, selected.Data);
                var target = branch == 0 ? xShape : yShape;
                var result = Tensor.Uninitialized(backend, target);
                backend.ReduceToShape(selected.Data, shape, result.Data, target);
                context.AddGradient(First + branch, result);
            }
        }

        // A computed condition broadcast to the output shape (null for a plan-time mask); the caller disposes it.
        private Tensor? Computed(IKernelBackend backend, Func<int, Tensor> input) =>
            mask is null ? ExpandOperator.Broadcast(backend, input(0), cShape, shape) : null;
    }
}
