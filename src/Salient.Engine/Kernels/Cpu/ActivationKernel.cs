using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// dst = act(src·scale + shift), vectorised. One pass serves plain activations, bias plus fused
/// activation after a convolution, and folded batch norm. src and dst may be the same memory.
/// </summary>
internal static unsafe class ActivationKernel
{
    private const int Chunk = 1 << 14;

    /// <summary>
    /// ReLU, Clip and no activation as a clamp of the result to [Low, High], which the vector kernels fold
    /// into their stores; <c>Clamps</c> is false for the others, which take one more pass (<see cref="Apply"/>).
    /// </summary>
    public static (bool Clamps, float Low, float High) ClampBounds(in FusedActivation activation) => activation.Kind switch
    {
        ActivationKind.None => (true, float.NegativeInfinity, float.PositiveInfinity),
        ActivationKind.Relu => (true, 0f, float.PositiveInfinity),
        ActivationKind.Clip => (true, activation.Alpha, activation.Beta),
        _ => (false, float.NegativeInfinity, float.PositiveInfinity),
    };

    /// <summary><see cref="Apply"/> over chunks of a large buffer on several threads.</summary>
    public static void ApplyParallel(in FusedActivation activation, ReadOnlySpan<float> src, Span<float> dst)
    {
        if (dst.Length != src.Length)
        {
            throw new ArgumentException($"Output holds {dst.Length} values, the input has {src.Length}.", nameof(dst));
        }

        var act = activation;
        var length = src.Length;
        fixed (float* ps = src, pd = dst)
        {
            var x = ps;
            var y = pd;
            CpuParallel.For((length + Chunk - 1) / Chunk, Chunk, i =>
            {
                var start = i * Chunk;
                var count = Math.Min(Chunk, length - start);
                Apply(act, new ReadOnlySpan<float>(x + start, count), new Span<float>(y + start, count));
            });
        }
    }

    public static void Apply(in FusedActivation activation, ReadOnlySpan<float> src, Span<float> dst, float scale = 1f, float shift = 0f)
    {
        if (dst.Length < src.Length)
        {
            throw new ArgumentException($"Output holds {dst.Length} values, the input has {src.Length}.", nameof(dst));
        }

        switch (activation.Kind)
        {
            case ActivationKind.None when scale == 1f && shift == 0f:
                // Nothing to compute; in place (a convolution without bias or activation) not even a copy.
                if (!Unsafe.AreSame(ref MemoryMarshal.GetReference(src), ref MemoryMarshal.GetReference(dst)))
                {
                    src.CopyTo(dst);
                }

                break;
            case ActivationKind.None:
                Run(default(Identity), src, dst, scale, shift);
                break;
            case ActivationKind.Relu:
                Run(new Clamp(0f, float.PositiveInfinity), src, dst, scale, shift);
                break;
            case ActivationKind.LeakyRelu:
                Run(new Leaky(activation.Alpha), src, dst, scale, shift);
                break;
            case ActivationKind.Clip:
                Run(new Clamp(activation.Alpha, activation.Beta), src, dst, scale, shift);
                break;
            case ActivationKind.Sigmoid:
                Run(default(Sigmoid), src, dst, scale, shift);
                break;
            case ActivationKind.HardSigmoid:
                Run(new HardSigmoid(activation.Alpha, activation.Beta), src, dst, scale, shift);
                break;
            case ActivationKind.HardSwish:
                Run(default(HardSwish), src, dst, scale, shift);
                break;
            default:
                throw new NotSupportedException($"Activation {activation.Kind} is not supported.");
        }
    }

    // Generic over a struct so each activation gets its own loop with the operation inlined.
    private static void Run<T>(T op, ReadOnlySpan<float> src, Span<float> dst, float scale, float shift)
        where T : struct, IActivation
    {
        ref var s = ref MemoryMarshal.GetReference(src);
        ref var d = ref MemoryMarshal.GetReference(dst);
        var n = (nuint)src.Length;
        nuint i = 0;
        var affine = scale != 1f || shift != 0f;
        if (Vector256.IsHardwareAccelerated)
        {
            var vScale = Vector256.Create(scale);
            var vShift = Vector256.Create(shift);
            for (; i + 8 <= n; i += 8)
            {
                var x = Vector256.LoadUnsafe(ref s, i);
                if (affine)
                {
                    x = Vector256.MultiplyAddEstimate(x, vScale, vShift);
                }

                op.Invoke(x).StoreUnsafe(ref d, i);
            }
        }

        for (; i < n; i++)
        {
            var x = Unsafe.Add(ref s, i);
            Unsafe.Add(ref d, i) = op.Invoke(affine ? (x * scale) + shift : x);
        }
    }

    private interface IActivation
    {
        float Invoke(float x);

        Vector256<float> Invoke(Vector256<float> x);
    }

    private readonly struct Identity : IActivation
    {
        public float Invoke(float x) => x;

        public Vector256<float> Invoke(Vector256<float> x) => x;
    }

    // Relu is a clamp to [0, ∞); Clip to [min, max].
    private readonly struct Clamp(float min, float max) : IActivation
    {
        public float Invoke(float x) => Math.Min(Math.Max(x, min), max);

        public Vector256<float> Invoke(Vector256<float> x) =>
            Vector256.Min(Vector256.Max(x, Vector256.Create(min)), Vector256.Create(max));
    }

    private readonly struct Leaky(float slope) : IActivation
    {
        public float Invoke(float x) => x >= 0f ? x : x * slope;

        public Vector256<float> Invoke(Vector256<float> x) =>
            Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), x, x * Vector256.Create(slope));
    }

    private readonly struct Sigmoid : IActivation
    {
        public float Invoke(float x) => 1f / (1f + MathF.Exp(-x));

        public Vector256<float> Invoke(Vector256<float> x) =>
            Vector256<float>.One / (Vector256<float>.One + Vector256.Exp(-x));
    }

    private readonly struct HardSigmoid(float alpha, float beta) : IActivation
    {
        public float Invoke(float x) => Math.Clamp((alpha * x) + beta, 0f, 1f);

        public Vector256<float> Invoke(Vector256<float> x) =>
            Vector256.Min(Vector256.Max(Vector256.MultiplyAddEstimate(x, Vector256.Create(alpha), Vector256.Create(beta)), Vector256<float>.Zero), Vector256<float>.One);
    }

    // x·relu6(x + 3)/6.
    private readonly struct HardSwish : IActivation
    {
        public float Invoke(float x) => x * Math.Clamp(x + 3f, 0f, 6f) * (1f / 6f);

        public Vector256<float> Invoke(Vector256<float> x) =>
            x * Vector256.Min(Vector256.Max(x + Vector256.Create(3f), Vector256<float>.Zero), Vector256.Create(6f)) * Vector256.Create(1f / 6f);
    }
}
