using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>Pow with numpy broadcasting; a constant scalar exponent (LayerNorm's square, 2) needs no broadcast.</summary>
internal static class PowOperator
{
    public static Step Plan(GraphNode node, PlanContext context)
    {
        var a = context.Shape(node, 0);
        var b = context.Shape(node, 1);
        var shape = BinaryOperator.BroadcastShape(a, b) ?? throw context.Error(node, $"shapes [{Tensor.FormatShape(a)}] and [{Tensor.FormatShape(b)}] do not broadcast");
        float? scalar = context.IsConstant(node.Inputs[1]) && Tensor.CheckedLength(b) == 1 ? context.Constant(node, 1).AsFloats()[0] : null;
        context.SetShape(node.Outputs[0], shape);
        return new PowStep(node, a, b, shape, scalar);
    }

    private sealed class PowStep(GraphNode node, int[] aShape, int[] bShape, int[] shape, float? scalar) : Step(node, [node.Inputs[0], node.Inputs[1]], [node.Outputs[0]])
    {
        // A constant scalar exponent applied as it is, held for the plan's life so that a device uploads it once.
        private readonly Tensor? _exponent = scalar is { } p && aShape.AsSpan().SequenceEqual(shape) ? Tensor.Wrap(new[] { p }, 1) : null;

        public override bool ReadsOutputInBackward => false;

        public override void Run(StepContext context)
        {
            var backend = context.Backend;
            var y = context.Output(0, shape).Data;
            if (_exponent is not null)
            {
                backend.Pow(context.Input(0).Data, _exponent.Data, y);
                return;
            }

            using var a = ExpandOperator.Broadcast(backend, context.Input(0), aShape, shape);
            using var b = ExpandOperator.Broadcast(backend, context.Input(1), bShape, shape);
            backend.Pow(a.Data, b.Data, y);
        }

        // Element-wise in both operands once broadcast: each moving operand's tangent times y's partial
        // derivative in it, which the backward kernel computes with that tangent as the output gradient.
        public override void Tangent(TangentContext context)
        {
            var backend = context.Backend;
            using var a = ExpandOperator.Broadcast(backend, context.Input(0), aShape, shape);
            using var b = ExpandOperator.Broadcast(backend, context.Input(1), bShape, shape);
            var tangent = Tensor.Zeros(backend, shape);
            for (var i = 0; i < 2; i++)
            {
                if (context.InputTangent(i) is not { } moving)
                {
                    continue;
                }

                using var broadcast = ExpandOperator.Broadcast(backend, moving, i == 0 ? aShape : bShape, shape);
                using var term = Tensor.Uninitialized(backend, shape);
                backend.PowBackward(a.Data, b.Data, broadcast.Data, i == 0 ? term.Data : default, i == 0 ? default : term.Data);
                backend.Accumulate(MapFusion.Sum, term.Data, tangent.Data);
            }

            context.SetOutputTangent(0, tangent);
        }

        public override void Backward(BackwardContext context)
        {
            if (context.OutputGradient(0) is not { } gradient || !(context.NeedsGradient(0) || context.NeedsGradient(1)))
            {
                return;
            }

            // Both operands broadcast to the output shape; each gradient summed back to its operand's shape.
            var backend = context.Backend;
            using var a = ExpandOperator.Broadcast(backend, context.Input(0), aShape, shape);
            using var b = ExpandOperator.Broadcast(backend, context.Input(1), bShape, shape);
            using var da = context.NeedsGradient(0) ? Tensor.Uninitialized(backend, shape) : null;
            using var db = context.NeedsGradient(1) ? Tensor.Uninitialized(backend, shape) : null;
            backend.PowBackward(a.Data, b.Data, gradient.Data, LayerNormOperator.Data(da), LayerNormOperator.Data(db));
            Reduce(context, 0, aShape, da);
            Reduce(context, 1, bShape, db);
        }

        private void Reduce(BackwardContext context, int index, int[] inputShape, Tensor? gradient)
        {
            if (gradient is not null)
            {
                var result = Tensor.Uninitialized(context.Backend, inputShape);
                context.Backend.ReduceToShape(gradient.Data, shape, result.Data, inputShape);
                context.AddGradient(index, result);
            }
        }
    }
}
