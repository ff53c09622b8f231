using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>The CPU's <see cref="IKernelBackend.Pow"/> and its gradients.</summary>
internal static class PowKernel
{
    public static void Run(ReadOnlySpan<float> x, ReadOnlySpan<float> exponent, Span<float> y)
    {
        if (y.Length != x.Length || (exponent.Length != 1 && exponent.Length != x.Length))
        {
            throw new ArgumentException($"Pow of {x.Length} values by {exponent.Length} exponents into {y.Length}.");
        }

        if (exponent.Length != 1 || x.Length == 0)
        {
            TensorPrimitives.Pow(x, exponent, y);
            return;
        }

        switch (exponent[0])
        {
            case 2f: TensorPrimitives.Multiply(x, x, y); break;
            case 1f: x.CopyTo(y); break;
            case 0.5f: TensorPrimitives.Sqrt(x, y); break;
            default: TensorPrimitives.Pow(x, exponent[0], y); break;
        }
    }

    public static void Backward(ReadOnlySpan<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> dy, Span<float> da, Span<float> db)
    {
        if (b.Length != a.Length || dy.Length != a.Length || (!da.IsEmpty && da.Length != a.Length) || (!db.IsEmpty && db.Length != a.Length))
        {
            throw new ArgumentException($"Pow backward of {a.Length} values got {b.Length} exponents, {dy.Length} gradients and room for {da.Length} and {db.Length}.");
        }

        if (!da.IsEmpty)
        {
            // d(a^b)/da = b·a^(b−1).
            TensorPrimitives.Subtract(b, 1f, da);
            TensorPrimitives.Pow(a, da, da);
            TensorPrimitives.Multiply(da, b, da);
            TensorPrimitives.Multiply(da, dy, da);
        }

        if (!db.IsEmpty)
        {
            // d(a^b)/db = ln(a)·a^b.
            TensorPrimitives.Pow(a, b, db);
            var log = new float[a.Length];
            TensorPrimitives.Log(a, log);
            TensorPrimitives.Multiply(db, log, db);
            TensorPrimitives.Multiply(db, dy, db);
        }
    }
}
