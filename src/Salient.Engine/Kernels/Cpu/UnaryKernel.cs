using System.Numerics;
using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>The CPU's <see cref="IKernelBackend.Unary"/> functions and their gradients, vectorised.</summary>
internal static class UnaryKernel
{
    private const float Sqrt2 = 1.41421356f;

    // GELU's values per task and per stack buffer.
    private const int Chunk = 4096;

    private static readonly float[] Coefficients = [0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f, -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f];

    public static void Run(UnaryFunction function, ReadOnlyMemory<float> input, Memory<float> output)
    {
        Check(input.Length, output.Length, input.Length);
        var x = input.Span;
        var y = output.Span;
        switch (function)
        {
            case UnaryFunction.Erf: Erf(x, y); break;
            case UnaryFunction.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryFunction.Reciprocal: TensorPrimitives.Reciprocal(x, y); break;
            case UnaryFunction.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryFunction.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryFunction.Log: TensorPrimitives.Log(x, y); break;
            case UnaryFunction.Tanh: TensorPrimitives.Tanh(x, y); break;
            case UnaryFunction.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryFunction.Gelu: Gelu(input, output); break;
            default: throw new ArgumentOutOfRangeException(nameof(function), function, "Unknown unary function.");
        }
    }

    public static void Backward(UnaryFunction function, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> g)
    {
        Check(dy.Length, g.Length, dy.Length);
        switch (function)
        {
            case UnaryFunction.Erf:
                // d erf(x) = 2/√π · exp(−x²).
                Check(x.Length, g.Length, dy.Length);
                TensorPrimitives.Multiply(x, x, g);
                TensorPrimitives.Negate(g, g);
                TensorPrimitives.Exp(g, g);
                TensorPrimitives.Multiply(g, 2f / MathF.Sqrt(MathF.PI), g);
                TensorPrimitives.Multiply(g, dy, g);
                break;
            case UnaryFunction.Sqrt:
                Check(y.Length, g.Length, dy.Length);
                TensorPrimitives.Divide(dy, y, g);
                TensorPrimitives.Multiply(g, 0.5f, g);
                break;
            case UnaryFunction.Reciprocal:
                Check(y.Length, g.Length, dy.Length);
                TensorPrimitives.Multiply(y, y, g);
                TensorPrimitives.Multiply(g, dy, g);
                TensorPrimitives.Negate(g, g);
                break;
            case UnaryFunction.Neg:
                TensorPrimitives.Negate(dy, g);
                break;
            case UnaryFunction.Exp:
                Check(y.Length, g.Length, dy.Length);
                TensorPrimitives.Multiply(dy, y, g);
                break;
            case UnaryFunction.Log:
                Check(x.Length, g.Length, dy.Length);
                TensorPrimitives.Divide(dy, x, g);
                break;
            case UnaryFunction.Tanh:
                Check(y.Length, g.Length, dy.Length);
                TensorPrimitives.Multiply(y, y, g);
                TensorPrimitives.Subtract(1f, g, g);
                TensorPrimitives.Multiply(g, dy, g);
                break;
            case UnaryFunction.Abs:
                Check(x.Length, g.Length, dy.Length);
                for (var i = 0; i < g.Length; i++)
                {
                    g[i] = x[i] > 0 ? dy[i] : x[i] < 0 ? -dy[i] : 0f;
                }

                break;
            case UnaryFunction.Gelu:
                Check(x.Length, g.Length, dy.Length);
                GeluBackward(x, dy, g);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(function), function, "Unknown unary function.");
        }
    }

    /// <summary>
    /// The error function, vectorised: erf(x) = 1 − erfc(x) with the Chebyshev fit of Numerical
    /// Recipes for erfc (fractional error below 1.2e-7). <paramref name="y"/> may be <paramref name="x"/>.
    /// </summary>
    public static void Erf(ReadOnlySpan<float> x, Span<float> y)
    {
        const int ErfChunk = 1024;
        Span<float> t = stackalloc float[ErfChunk];
        Span<float> e = stackalloc float[ErfChunk];
        for (var start = 0; start < x.Length; start += ErfChunk)
        {
            var n = Math.Min(ErfChunk, x.Length - start);
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

    private static void Gelu(ReadOnlyMemory<float> x, Memory<float> y) =>
        RowNormKernel.ForRows((x.Length + Chunk - 1) / Chunk, (start, end) =>
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
                Erf(e, e);
                // y = 0.5·x·(1 + erf) = 0.5·(x·erf + x)
                TensorPrimitives.MultiplyAdd(e, xs, xs, ys);
                TensorPrimitives.Multiply(ys, 0.5f, ys);
            }
        });

    // dGELU/dx = 0.5·(1 + erf(x/√2)) + x·exp(−x²/2)/√(2π).
    private static void GeluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> d)
    {
        var density = new float[x.Length];
        TensorPrimitives.Multiply(x, x, density);
        TensorPrimitives.Multiply(density, -0.5f, density);
        TensorPrimitives.Exp(density, density);
        TensorPrimitives.Multiply(density, x, density);
        TensorPrimitives.Multiply(density, 1f / MathF.Sqrt(2f * MathF.PI), density);
        TensorPrimitives.Multiply(x, 1f / Sqrt2, d);
        Erf(d, d);
        TensorPrimitives.Add(d, 1f, d);
        TensorPrimitives.MultiplyAdd(d, 0.5f, density, d);
        TensorPrimitives.Multiply(d, dy, d);
    }

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

    private static void Check(int input, int output, int expected)
    {
        if (input != expected || output != expected)
        {
            throw new ArgumentException($"A unary function of {expected} values got {input} inputs and room for {output}.");
        }
    }
}
