using System.Numerics.Tensors;
using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>
/// GELU, 0.5·x·(1 + erf(x/√2)), as exporters before opset 20 write it: Div by √2 → Erf → Add 1 →
/// Mul by x → Mul by 0.5, fused into one step (one pass instead of five, and one value kept for the
/// backward pass instead of four).
/// </summary>
internal static class GeluOperator
{
    private const float Sqrt2 = 1.41421356f;

    // Values per task and per stack buffer.
    private const int Chunk = 4096;

    /// <summary>Plans the pattern that starts at <paramref name="div"/> as one step, or returns null when it is not GELU.</summary>
    public static Step? TryPlan(GraphNode div, PlanContext context)
    {
        var x = div.Inputs[0];
        if (!IsScalar(context, div.Inputs[1], Sqrt2)
            || Patterns.Only(context, div.Outputs[0], n => n.OpType == "Erf") is not { } erf
            || Patterns.Only(context, erf.Outputs[0], n => n.OpType == "Add" && IsScalar(context, Patterns.Other(n, erf.Outputs[0]), 1f)) is not { } plusOne
            || Patterns.Only(context, plusOne.Outputs[0], n => n.OpType == "Mul" && Patterns.Other(n, plusOne.Outputs[0]) == x) is not { } times
            || Patterns.Only(context, times.Outputs[0], n => n.OpType == "Mul" && IsScalar(context, Patterns.Other(n, times.Outputs[0]), 0.5f)) is not { } half)
        {
            return null;
        }

        GraphNode[] nodes = [div, erf, plusOne, times, half];
        if (!context.MayJoin(nodes, inRegionToo: true))
        {
            return null;
        }

        var shape = context.Shape(div, 0);
        foreach (var node in nodes)
        {
            context.SetShape(node.Outputs[0], shape);
            if (node != div)
            {
                context.Absorbed.Add(node);
            }
        }

        return new GeluStep(div, x, half.Outputs[0], shape);
    }

    private static bool IsScalar(PlanContext context, string name, float value) =>
        Patterns.Scalar(context, name) is { } v && Math.Abs(v - value) <= 1e-6f * value;

    private sealed class GeluStep(GraphNode node, string input, string output, int[] shape) : Step(node, [input], [output])
    {
        public override string Label => "Gelu(fused)";

        public override int InPlaceInput => 0;

        public override bool ReadsOutputInBackward => false;

        public override void Run(StepContext context)
        {
            var x = context.Input(0).Memory;
            var y = context.Output(0, shape).Memory;
            LayerNormOperator.ForRows((x.Length + Chunk - 1) / Chunk, (start, end) =>
            {
                Span<float> erf = stackalloc float[Chunk];
                for (var chunk = start; chunk < end; chunk++)
                {
                    var from = chunk * Chunk;
                    var length = Math.Min(x.Length - from, Chunk);
                    var xs = x.Span.Slice(from, length);
                    var ys = y.Span.Slice(from, length);
                    var e = erf[..length];
                    TensorPrimitives.Multiply(xs, 1f / Sqrt2, e);
                    UnaryOperator.Erf(e, e);
                    // y = 0.5·x·(1 + erf) = 0.5·(x·erf + x)
                    TensorPrimitives.MultiplyAdd(e, xs, xs, ys);
                    TensorPrimitives.Multiply(ys, 0.5f, ys);
                }
            });
        }

        public override void Backward(BackwardContext context)
        {
            if (!context.NeedsGradient(0) || context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            // dGELU/dx = 0.5·(1 + erf(x/√2)) + x·exp(−x²/2)/√(2π).
            var x = context.Input(0).Span;
            var dx = Tensor.Uninitialized(shape);
            var d = dx.Span;
            var density = new float[x.Length];
            TensorPrimitives.Multiply(x, x, density);
            TensorPrimitives.Multiply(density, -0.5f, density);
            TensorPrimitives.Exp(density, density);
            TensorPrimitives.Multiply(density, x, density);
            TensorPrimitives.Multiply(density, 1f / MathF.Sqrt(2f * MathF.PI), density);
            TensorPrimitives.Multiply(x, 1f / Sqrt2, d);
            UnaryOperator.Erf(d, d);
            TensorPrimitives.Add(d, 1f, d);
            TensorPrimitives.MultiplyAdd(d, 0.5f, density, d);
            TensorPrimitives.Multiply(d, gradient.Span, d);
            context.AddGradient(0, dx);
        }
    }
}
