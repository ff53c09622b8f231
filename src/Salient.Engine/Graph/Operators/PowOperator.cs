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

        /// <summary>
        /// y = a^b, element-wise once broadcast, with second derivatives y_aa = b(b−1)·a^(b−2),
        /// y_ab = a^(b−1)·(1 + b·ln a) and y_bb = a^b·ln²a: g_a gains g·(y_aa·ȧ + y_ab·ḃ) and g_b gains
        /// g·(y_ab·ȧ + y_bb·ḃ), each summed down to its operand's shape. With a constant exponent (the
        /// common case, LayerNorm's square) only y_aa is computed, so a negative base is fine there.
        /// </summary>
        public override void GradientTangent(SecondOrderContext context)
        {
            context.ThroughBackward();
            var (ta, tb) = (context.InputTangent(0), context.InputTangent(1));
            if (context.OutputGradient(0) is not { } gradient || (ta is null && tb is null))
            {
                return;
            }

            var backend = context.Backend;
            using var a = ExpandOperator.Broadcast(backend, context.Input(0), aShape, shape);
            using var b = ExpandOperator.Broadcast(backend, context.Input(1), bShape, shape);
            using var da = ta is null ? null : ExpandOperator.Broadcast(backend, ta, aShape, shape);
            using var db = tb is null ? null : ExpandOperator.Broadcast(backend, tb, bShape, shape);
            using var term = Tensor.Zeros(backend, shape);
            using var factor = Tensor.Uninitialized(backend, shape);
            using var exponent = Tensor.Uninitialized(backend, shape);
            using var power = Tensor.Uninitialized(backend, shape);
            using var one = context.Scalar(1f);

            // y_aa·ȧ: b·(b − 1)·a^(b − 2).
            if (da is not null && context.NeedsGradient(0))
            {
                backend.Binary(BinaryOp.Sub, b.Data, shape, one.Data, [1], factor.Data, shape);
                backend.Binary(BinaryOp.Sub, factor.Data, shape, one.Data, [1], exponent.Data, shape);
                backend.Pow(a.Data, exponent.Data, power.Data);
                backend.Binary(BinaryOp.Mul, factor.Data, shape, power.Data, shape, factor.Data, shape);
                backend.Binary(BinaryOp.Mul, factor.Data, shape, b.Data, shape, factor.Data, shape);
                Accumulate(backend, factor, da, term);
                AddScaled(context, 0, gradient, term);
            }

            if (db is null && !context.NeedsGradient(1))
            {
                return;
            }

            // ln a, y_ab = a^(b−1)·(1 + b·ln a) and y_bb = a^b·ln²a.
            using var log = Tensor.Uninitialized(backend, shape);
            backend.Unary(UnaryFunction.Log, a.Data, log.Data);
            using var mixed = Tensor.Uninitialized(backend, shape);
            backend.Binary(BinaryOp.Mul, b.Data, shape, log.Data, shape, mixed.Data, shape);
            backend.Binary(BinaryOp.Add, mixed.Data, shape, one.Data, [1], mixed.Data, shape);
            backend.Binary(BinaryOp.Sub, b.Data, shape, one.Data, [1], exponent.Data, shape);
            backend.Pow(a.Data, exponent.Data, power.Data);
            backend.Binary(BinaryOp.Mul, mixed.Data, shape, power.Data, shape, mixed.Data, shape);
            if (db is not null && context.NeedsGradient(0))
            {
                backend.Fill(term.Data, 0f);
                Accumulate(backend, mixed, db, term);
                AddScaled(context, 0, gradient, term);
            }

            if (!context.NeedsGradient(1))
            {
                return;
            }

            backend.Fill(term.Data, 0f);
            if (da is not null)
            {
                Accumulate(backend, mixed, da, term);
            }

            if (db is not null)
            {
                backend.Pow(a.Data, b.Data, power.Data);
                backend.Binary(BinaryOp.Mul, power.Data, shape, log.Data, shape, factor.Data, shape);
                backend.Binary(BinaryOp.Mul, factor.Data, shape, log.Data, shape, factor.Data, shape);
                Accumulate(backend, factor, db, term);
            }

            AddScaled(context, 1, gradient, term);
        }

        // term += factor·tangent (factor read).
        private void Accumulate(IKernelBackend backend, Tensor factor, Tensor tangent, Tensor term)
        {
            using var product = Tensor.Uninitialized(backend, shape);
            backend.Binary(BinaryOp.Mul, factor.Data, shape, tangent.Data, shape, product.Data, shape);
            backend.Accumulate(MapFusion.Sum, product.Data, term.Data);
        }

        // Input index's gradient tangent gains g·term, summed to its shape.
        private void AddScaled(SecondOrderContext context, int index, Tensor gradient, Tensor term)
        {
            using var product = Tensor.Uninitialized(context.Backend, shape);
            context.Backend.Binary(BinaryOp.Mul, gradient.Data, shape, term.Data, shape, product.Data, shape);
            context.AddBroadcastGradientTangent(index, product);
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
