using System.Numerics;
using System.Numerics.Tensors;
using Salient.Engine.Graph.Backward;

namespace Salient.Engine.Graph.Operators;

/// <summary>Element-wise functions without parameters: Erf, Sqrt, Reciprocal, Neg, Exp, Log, Tanh, Abs.</summary>
internal static class UnaryOperator
{
    private enum Function
    {
        Erf,
        Sqrt,
        Reciprocal,
        Neg,
        Exp,
        Log,
        Tanh,
        Abs,
    }

    public static Step Plan(GraphNode node, PlanContext context)
    {
        var function = Enum.Parse<Function>(node.OpType);
        var shape = context.Shape(node, 0);
        context.SetShape(node.Outputs[0], shape);
        return new UnaryStep(node, function, shape);
    }

    private sealed class UnaryStep(GraphNode node, Function function, int[] shape) : Step(node, [node.Inputs[0]], [node.Outputs[0]])
    {
        public override int InPlaceInput => 0;

        public override bool ReadsInputInBackward(int index) => function is Function.Erf or Function.Log or Function.Abs;

        public override bool ReadsOutputInBackward => function is Function.Sqrt or Function.Reciprocal or Function.Exp or Function.Tanh;

        public override void Run(StepContext context)
        {
            var x = context.Input(0).Span;
            var y = context.Output(0, shape).Span;
            switch (function)
            {
                case Function.Erf: Erf(x, y); break;
                case Function.Sqrt: TensorPrimitives.Sqrt(x, y); break;
                case Function.Reciprocal: TensorPrimitives.Reciprocal(x, y); break;
                case Function.Neg: TensorPrimitives.Negate(x, y); break;
                case Function.Exp: TensorPrimitives.Exp(x, y); break;
                case Function.Log: TensorPrimitives.Log(x, y); break;
                case Function.Tanh: TensorPrimitives.Tanh(x, y); break;
                default: TensorPrimitives.Abs(x, y); break;
            }
        }

        public override void Backward(BackwardContext context)
        {
            if (!context.NeedsGradient(0) || context.OutputGradient(0) is not { } gradient)
            {
                return;
            }

            var dy = gradient.Span;
            var dx = Tensor.Uninitialized(shape);
            var g = dx.Span;
            switch (function)
            {
                case Function.Erf:
                    // d erf(x) = 2/√π · exp(−x²).
                    var x = context.Input(0).Span;
                    TensorPrimitives.Multiply(x, x, g);
                    TensorPrimitives.Negate(g, g);
                    TensorPrimitives.Exp(g, g);
                    TensorPrimitives.Multiply(g, 2f / MathF.Sqrt(MathF.PI), g);
                    TensorPrimitives.Multiply(g, dy, g);
                    break;
                case Function.Sqrt:
                    TensorPrimitives.Divide(dy, context.Output(0).Span, g);
                    TensorPrimitives.Multiply(g, 0.5f, g);
                    break;
                case Function.Reciprocal:
                    var r = context.Output(0).Span;
                    TensorPrimitives.Multiply(r, r, g);
                    TensorPrimitives.Multiply(g, dy, g);
                    TensorPrimitives.Negate(g, g);
                    break;
                case Function.Neg:
                    TensorPrimitives.Negate(dy, g);
                    break;
                case Function.Exp:
                    TensorPrimitives.Multiply(dy, context.Output(0).Span, g);
                    break;
                case Function.Log:
                    TensorPrimitives.Divide(dy, context.Input(0).Span, g);
                    break;
                case Function.Tanh:
                    var t = context.Output(0).Span;
                    TensorPrimitives.Multiply(t, t, g);
                    TensorPrimitives.Subtract(1f, g, g);
                    TensorPrimitives.Multiply(g, dy, g);
                    break;
                default:
                    var a = context.Input(0).Span;
                    for (var i = 0; i < g.Length; i++)
                    {
                        g[i] = a[i] > 0 ? dy[i] : a[i] < 0 ? -dy[i] : 0f;
                    }

                    break;
            }

            context.AddGradient(0, dx);
        }
    }

    /// <summary>
    /// The error function, vectorised: erf(x) = 1 − erfc(x) with the Chebyshev fit of Numerical
    /// Recipes for erfc (fractional error below 1.2e-7). <paramref name="y"/> may be <paramref name="x"/>.
    /// </summary>
    public static void Erf(ReadOnlySpan<float> x, Span<float> y)
    {
        const int Chunk = 1024;
        Span<float> t = stackalloc float[Chunk];
        Span<float> e = stackalloc float[Chunk];
        for (var start = 0; start < x.Length; start += Chunk)
        {
            var n = Math.Min(Chunk, x.Length - start);
            var xs = x.Slice(start, n);
            var ys = y.Slice(start, n);
            var ts = t[..n];
            var es = e[..n];
            var i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
                {
                    var z = Vector.Abs(new Vector<float>(xs[i..]));
                    var tv = Vector<float>.One / (Vector<float>.One + (new Vector<float>(0.5f) * z));
                    var p = Polynomial(tv);
                    tv.CopyTo(ts[i..]);
                    ((-z * z) + p).CopyTo(es[i..]);
                }
            }

            for (; i < n; i++)
            {
                var z = MathF.Abs(xs[i]);
                var tv = 1f / (1f + (0.5f * z));
                ts[i] = tv;
                es[i] = (-z * z) + Polynomial(new Vector<float>(tv))[0];
            }

            TensorPrimitives.Exp(es, es);
            TensorPrimitives.Multiply(es, ts, es);
            for (i = 0; i < n; i++)
            {
                // es is erfc(|x|); erf is odd.
                ys[i] = xs[i] >= 0 ? 1f - es[i] : es[i] - 1f;
            }
        }
    }

    private static readonly float[] Coefficients = [0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f, -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f];

    // Horner's rule, highest power first.
    private static Vector<float> Polynomial(Vector<float> t)
    {
        var p = new Vector<float>(Coefficients[0]);
        for (var i = 1; i < Coefficients.Length; i++)
        {
            p = (p * t) + new Vector<float>(Coefficients[i]);
        }

        return p;
    }
}
