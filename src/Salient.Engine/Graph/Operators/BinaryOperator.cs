using Salient.Engine.Devices;
using Salient.Engine.Graph.Backward;
using Salient.Engine.Kernels;

namespace Salient.Engine.Graph.Operators;

/// <summary>Add, Sub, Mul and Div with numpy broadcasting; arithmetic on constants is folded at plan time (<see cref="ConstantEvaluator"/>).</summary>
internal static class BinaryOperator
{
    public static Step? Plan(GraphNode node, PlanContext context)
    {
        var op = node.OpType switch
        {
            "Add" => BinaryOp.Add,
            "Sub" => BinaryOp.Sub,
            "Mul" => BinaryOp.Mul,
            _ => BinaryOp.Div,
        };
        var a = context.Shape(node, 0);
        var b = context.Shape(node, 1);
        var shape = BroadcastShape(a, b) ?? throw context.Error(node, $"shapes [{Tensor.FormatShape(a)}] and [{Tensor.FormatShape(b)}] do not broadcast");

        context.SetShape(node.Outputs[0], shape);
        // Div's backward reads its own output, which a fused activation would replace.
        context.TryFuseActivation(node, out var activation, out var output, inRegionToo: op != BinaryOp.Div);
        context.SetShape(output, shape);
        return new BinaryStep(node, op, a, b, shape, activation, output);
    }

    /// <summary>The numpy broadcast of two shapes, or null when they do not broadcast.</summary>
    public static int[]? BroadcastShape(int[] a, int[] b)
    {
        var rank = Math.Max(a.Length, b.Length);
        var shape = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            var da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            var db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
            {
                return null;
            }

            shape[i] = da == 1 ? db : da;
        }

        return shape;
    }

    internal sealed class BinaryStep(GraphNode node, BinaryOp op, int[] aShape, int[] bShape, int[] shape, FusedActivation activation, string output)
        : Step(node, [node.Inputs[0], node.Inputs[1]], [output])
    {
        public override StepKind Kind => StepKind.Elementwise;

        public override FusedActivation Activation => activation;

        public override string Label => LabelWith(activation);

        // A sum's gradients need neither operand; a product's and a quotient's need both.
        public override bool ReadsInputInBackward(int index) => op is not (BinaryOp.Add or BinaryOp.Sub);

        public override bool ReadsOutputInBackward => activation.Kind != ActivationKind.None || op == BinaryOp.Div;

        /// <summary>Whether this adds two tensors of one shape (no broadcasting), as a residual connection does.</summary>
        public bool IsPlainAdd => op == BinaryOp.Add && aShape.AsSpan().SequenceEqual(shape) && bShape.AsSpan().SequenceEqual(shape);

        // The left input's buffer can take the result when it already has the result's shape.
        public override int InPlaceInput => aShape.AsSpan().SequenceEqual(shape) ? 0 : -1;

        public override void Backward(BackwardContext context)
        {
            if (context.GradientBeforeActivation(activation) is not { } pre)
            {
                return;
            }

            var gradient = pre.Gradient;
            var backend = context.Backend;
            if (op is BinaryOp.Add or BinaryOp.Sub)
            {
                Reduce(context, 1, bShape, gradient.Data, op == BinaryOp.Add ? 1f : -1f);
                if (context.NeedsGradient(0) && aShape.AsSpan().SequenceEqual(shape))
                {
                    // The gradient passes to a through unchanged (a residual add): hand it over, not a copy.
                    context.AddGradient(0, pre.Owned ? gradient : context.TakeOutputGradient(0));
                    return;
                }

                Reduce(context, 0, aShape, gradient.Data, 1f);
                pre.Dispose();
                return;
            }

            using var owned = pre;
            switch (op)
            {
                case BinaryOp.Mul:
                    using (var product = Tensor.Uninitialized(backend, shape))
                    {
                        if (context.NeedsGradient(0))
                        {
                            backend.Binary(BinaryOp.Mul, gradient.Data, shape, context.Input(1).Data, bShape, product.Data, shape);
                            Reduce(context, 0, aShape, product.Data, 1f);
                        }

                        if (context.NeedsGradient(1))
                        {
                            backend.Binary(BinaryOp.Mul, gradient.Data, shape, context.Input(0).Data, aShape, product.Data, shape);
                            Reduce(context, 1, bShape, product.Data, 1f);
                        }
                    }

                    break;
                default:
                    // y = a / b: da = dy / b; db = -(dy / b)·y.
                    using (var quotient = Tensor.Uninitialized(backend, shape))
                    {
                        backend.Binary(BinaryOp.Div, gradient.Data, shape, context.Input(1).Data, bShape, quotient.Data, shape);
                        Reduce(context, 0, aShape, quotient.Data, 1f);
                        if (context.NeedsGradient(1))
                        {
                            backend.Binary(BinaryOp.Mul, quotient.Data, shape, context.Output(0).Data, shape, quotient.Data, shape);
                            Reduce(context, 1, bShape, quotient.Data, -1f);
                        }
                    }

                    break;
            }
        }

        /// <summary>
        /// a ± b is linear. a·b is bilinear: g_a = g·b gains g·ḃ, g_b gains g·ȧ. For a/b, g_a = g/b
        /// gains −g·ḃ/b² and g_b = −g·y/b gains g·(2y·ḃ − ȧ)/b². Each summed down to its operand's
        /// shape. A fused activation is piecewise linear or refused.
        /// </summary>
        public override void GradientTangent(SecondOrderContext context)
        {
            context.PiecewiseLinear(activation);
            if (op is BinaryOp.Add or BinaryOp.Sub || context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var backend = context.Backend;
            var (ta, tb) = (context.InputTangent(0), context.InputTangent(1));
            using var term = Tensor.Uninitialized(backend, shape);
            if (op == BinaryOp.Mul)
            {
                // The gradient at the product, before its fused (piecewise-linear) activation.
                using var masked = activation.Kind == ActivationKind.None ? null : Tensor.Uninitialized(backend, shape);
                if (masked is not null)
                {
                    var y = context.Output(0).Data;
                    backend.ActivateBackward(activation, y, y, gradient.Data, masked.Data);
                }

                AddProductTerm(context, 0, masked ?? gradient, tb, bShape, term);
                AddProductTerm(context, 1, masked ?? gradient, ta, aShape, term);
                return;
            }

            // The planner fuses no activation into a quotient in the gradient region: y is the quotient.

            if (ta is null && tb is null)
            {
                return;
            }

            // q = g/b²: a's term is −q·ḃ, b's is q·(2y·ḃ − ȧ).
            using var q = Tensor.Uninitialized(backend, shape);
            var b = context.Input(1).Data;
            backend.Binary(BinaryOp.Div, gradient.Data, shape, b, bShape, q.Data, shape);
            backend.Binary(BinaryOp.Div, q.Data, shape, b, bShape, q.Data, shape);
            AddProductTerm(context, 0, q, tb, bShape, term, -1f);
            if (!context.NeedsGradient(1))
            {
                return;
            }

            backend.Fill(term.Data, 0f);
            if (tb is not null)
            {
                backend.Binary(BinaryOp.Mul, context.Output(0).Data, shape, tb.Data, bShape, term.Data, shape);
                backend.Map(new MapFunction(MapFunctionKind.Scale, 2f), term.Data, term.Data);
            }

            if (ta is not null)
            {
                backend.Binary(BinaryOp.Sub, term.Data, shape, ta.Data, aShape, term.Data, shape);
            }

            backend.Binary(BinaryOp.Mul, term.Data, shape, q.Data, shape, term.Data, shape);
            context.AddBroadcastGradientTangent(1, term);
        }

        public override string? SecondOrderGap => SecondOrderContext.ActivationGap(activation);

        public override bool ReadsTangentsInSecondOrder => op is not (BinaryOp.Add or BinaryOp.Sub);

        // Adds sign·factor·tangent (the other operand's), summed to input index's shape, to that input's gradient tangent; term is scratch.
        private static void AddProductTerm(SecondOrderContext context, int index, Tensor factor, Tensor? tangent, int[] tangentShape, Tensor term, float sign = 1f)
        {
            if (tangent is null || !context.NeedsGradient(index))
            {
                return;
            }

            var shape = term.ShapeArray();
            context.Backend.Binary(BinaryOp.Mul, factor.Data, shape, tangent.Data, tangentShape, term.Data, shape);
            context.AddBroadcastGradientTangent(index, term, sign);
        }

        /// <summary>
        /// a ± b: ta ± tb; a·b: ta·b + a·tb; a/b: (ta − y·tb)/b; then the fused activation's derivative,
        /// judged from the output as the backward pass judges it.
        /// </summary>
        public override void Tangent(TangentContext context)
        {
            var backend = context.Backend;
            var (ta, tb) = (context.InputTangent(0), context.InputTangent(1));
            using var zeroA = ta is null ? Tensor.Zeros(backend, aShape) : null;
            using var zeroB = tb is null ? Tensor.Zeros(backend, bShape) : null;
            var (da, db) = ((ta ?? zeroA)!.Data, (tb ?? zeroB)!.Data);
            var tangent = Tensor.Uninitialized(backend, shape);
            switch (op)
            {
                case BinaryOp.Add or BinaryOp.Sub:
                    backend.Binary(op, da, aShape, db, bShape, tangent.Data, shape);
                    break;
                case BinaryOp.Mul:
                    backend.Binary(BinaryOp.Mul, da, aShape, context.Input(1).Data, bShape, tangent.Data, shape);
                    if (tb is not null)
                    {
                        using var term = Tensor.Uninitialized(backend, shape);
                        backend.Binary(BinaryOp.Mul, context.Input(0).Data, aShape, db, bShape, term.Data, shape);
                        backend.Accumulate(MapFusion.Sum, term.Data, tangent.Data);
                    }

                    break;
                default:
                    using (var numerator = Tensor.Uninitialized(backend, shape))
                    {
                        backend.Binary(BinaryOp.Mul, context.Output(0).Data, shape, db, bShape, tangent.Data, shape);
                        backend.Binary(BinaryOp.Sub, da, aShape, tangent.Data, shape, numerator.Data, shape);
                        backend.Binary(BinaryOp.Div, numerator.Data, shape, context.Input(1).Data, bShape, tangent.Data, shape);
                    }

                    break;
            }

            if (activation.Kind != ActivationKind.None)
            {
                var output = context.Output(0).Data;
                backend.ActivateBackward(activation, output, output, tangent.Data, tangent.Data);
            }

            context.SetOutputTangent(0, tangent);
        }

        /// <summary>Adds sign·(gradient summed down to the input's shape) to input <paramref name="index"/>.</summary>
        private void Reduce(BackwardContext context, int index, int[] inputShape, BufferView gradient, float sign)
        {
            if (!context.NeedsGradient(index))
            {
                return;
            }

            var result = Tensor.Uninitialized(context.Backend, inputShape);
            context.Backend.ReduceToShape(gradient, shape, result.Data, inputShape);
            if (sign != 1f)
            {
                context.Backend.Map(new MapFunction(MapFunctionKind.Scale, sign), result.Data, result.Data);
            }

            context.AddGradient(index, result);
        }

        public override void Run(StepContext context)
        {
            var a = context.Input(0);
            var b = context.Input(1);
            var output = context.Output(0, shape);
            context.Backend.Binary(op, a.Data, aShape, b.Data, bShape, output.Data, shape, activation);
        }
    }
}
