using System.Numerics.Tensors;
using Salient.Engine.Devices;
using Salient.Engine.Graph.Backward;

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
        public override bool ReadsOutputInBackward => false;

        public override void Run(StepContext context)
        {
            var y = context.Output(0, shape).Span;
            if (scalar is { } p && aShape.AsSpan().SequenceEqual(shape))
            {
                var x = context.Input(0).Span;
                switch (p)
                {
                    case 2f: TensorPrimitives.Multiply(x, x, y); break;
                    case 1f: x.CopyTo(y); break;
                    case 0.5f: TensorPrimitives.Sqrt(x, y); break;
                    default: TensorPrimitives.Pow(x, p, y); break;
                }

                return;
            }

            var (xa, xb) = Operands(context);
            TensorPrimitives.Pow(xa, xb, y);
        }

        public override void Backward(BackwardContext context)
        {
            if (context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var (a, b) = Operands(context);
            var term = new float[a.Length];
            if (context.NeedsGradient(0))
            {
                // d(a^b)/da = b·a^(b−1).
                TensorPrimitives.Subtract(b, 1f, term);
                TensorPrimitives.Pow(a, term, term);
                TensorPrimitives.Multiply(term, b, term);
                TensorPrimitives.Multiply(term, gradient.Span, term);
                Reduce(context, 0, aShape, term);
            }

            if (context.NeedsGradient(1))
            {
                // d(a^b)/db = ln(a)·a^b.
                TensorPrimitives.Pow(a, b, term);
                var log = new float[a.Length];
                TensorPrimitives.Log(a, log);
                TensorPrimitives.Multiply(term, log, term);
                TensorPrimitives.Multiply(term, gradient.Span, term);
                Reduce(context, 1, bShape, term);
            }
        }

        /// <summary>Both operands broadcast to the output shape.</summary>
        private (float[] A, float[] B) Operands(StepContext context) => (Broadcast(context.Input(0).Span, aShape), Broadcast(context.Input(1).Span, bShape));

        private (float[] A, float[] B) Operands(BackwardContext context) => (Broadcast(context.Input(0).Span, aShape), Broadcast(context.Input(1).Span, bShape));

        private float[] Broadcast(ReadOnlySpan<float> x, int[] xShape)
        {
            var result = new float[Tensor.CheckedLength(shape)];
            Strided.Gather(x, 0, ExpandOperator.BroadcastStrides(xShape, shape), shape, result);
            return result;
        }

        private void Reduce(BackwardContext context, int index, int[] inputShape, float[] gradient)
        {
            var result = Tensor.Uninitialized(context.Backend, inputShape);
            context.Backend.ReduceToShape(BufferView.Host(gradient), shape, result.Data, inputShape);
            context.AddGradient(index, result);
        }
    }
}
