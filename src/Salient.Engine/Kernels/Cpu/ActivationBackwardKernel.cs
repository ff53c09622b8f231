using System.Runtime.Intrinsics;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Activation gradients with PyTorch's conventions at the kinks (Relu: y &gt; 0; Clip and
/// HardSigmoid: strictly inside; HardSwish: −3 ≤ x ≤ 3 uses x/3 + ½), vectorised and split into
/// chunks across threads like <see cref="ActivationKernel.ApplyParallel"/>.
/// </summary>
internal static unsafe class ActivationBackwardKernel
{
    private const int Chunk = 1 << 14;

    public static void Run(in FusedActivation a, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (dx.Length != dy.Length || x.Length != dy.Length || y.Length != dy.Length)
        {
            throw new ArgumentException($"Activation backward got {x.Length} inputs, {y.Length} outputs, {dy.Length} gradients and room for {dx.Length}.");
        }

        var act = a;
        var length = dx.Length;
        fixed (float* px = x, py = y, pdy = dy, pdx = dx)
        {
            var xs = px;
            var ys = py;
            var gs = pdy;
            var ds = pdx;
            CpuParallel.For((length + Chunk - 1) / Chunk, Chunk, i =>
            {
                var start = i * Chunk;
                Apply(act, xs + start, ys + start, gs + start, ds + start, Math.Min(Chunk, length - start));
            });
        }
    }

    private static void Apply(in FusedActivation a, float* x, float* y, float* dy, float* dx, int n)
    {
        switch (a.Kind)
        {
            case ActivationKind.None:
                new ReadOnlySpan<float>(dy, n).CopyTo(new Span<float>(dx, n));
                break;
            case ActivationKind.Relu:
                Run(default(Relu), x, y, dy, dx, n);
                break;
            case ActivationKind.LeakyRelu:
                Run(new Leaky(a.Alpha), x, y, dy, dx, n);
                break;
            case ActivationKind.Clip:
                Run(new Clip(a.Alpha, a.Beta), x, y, dy, dx, n);
                break;
            case ActivationKind.Sigmoid:
                Run(default(Sigmoid), x, y, dy, dx, n);
                break;
            case ActivationKind.HardSigmoid:
                Run(new HardSigmoid(a.Alpha, a.Beta), x, y, dy, dx, n);
                break;
            case ActivationKind.HardSwish:
                Run(default(HardSwish), x, y, dy, dx, n);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(a), a.Kind, "Unknown activation.");
        }
    }

    // Generic over a struct so each activation gets its own loop with the rule inlined.
    private static void Run<T>(T op, float* x, float* y, float* dy, float* dx, int n)
        where T : struct, IGradient
    {
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8)
            {
                op.Invoke(Vector256.Load(x + i), Vector256.Load(y + i), Vector256.Load(dy + i)).Store(dx + i);
            }
        }

        for (; i < n; i++)
        {
            dx[i] = op.Invoke(x[i], y[i], dy[i]);
        }
    }

    /// <summary>dx from the forward input x, output y and output gradient g.</summary>
    private interface IGradient
    {
        float Invoke(float x, float y, float g);

        Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> g);
    }

    private readonly struct Relu : IGradient
    {
        public float Invoke(float x, float y, float g) => y > 0f ? g : 0f;

        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> g) =>
            Vector256.GreaterThan(y, Vector256<float>.Zero) & g;
    }

    private readonly struct Leaky(float slope) : IGradient
    {
        public float Invoke(float x, float y, float g) => x > 0f ? g : g * slope;

        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> g) =>
            Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), g, g * Vector256.Create(slope));
    }

    private readonly struct Clip(float min, float max) : IGradient
    {
        public float Invoke(float x, float y, float g) => x > min && x < max ? g : 0f;

        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> g) =>
            Vector256.GreaterThan(x, Vector256.Create(min)) & Vector256.LessThan(x, Vector256.Create(max)) & g;
    }

    private readonly struct Sigmoid : IGradient
    {
        public float Invoke(float x, float y, float g) => g * y * (1f - y);

        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> g) =>
            g * y * (Vector256<float>.One - y);
    }

    // The slope where alpha·x + beta, rounded as the scalar forward rounds it, lies strictly inside (0, 1).
    private readonly struct HardSigmoid(float alpha, float beta) : IGradient
    {
        public float Invoke(float x, float y, float g) => (alpha * x) + beta is > 0f and < 1f ? g * alpha : 0f;

        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> g)
        {
            var t = (x * Vector256.Create(alpha)) + Vector256.Create(beta);
            return Vector256.GreaterThan(t, Vector256<float>.Zero) & Vector256.LessThan(t, Vector256<float>.One) & (g * Vector256.Create(alpha));
        }
    }

    private readonly struct HardSwish : IGradient
    {
        public float Invoke(float x, float y, float g) => x < -3f ? 0f : x <= 3f ? g * ((x / 3f) + 0.5f) : g;

        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y, Vector256<float> g)
        {
            var inner = g * ((x / Vector256.Create(3f)) + Vector256.Create(0.5f));
            var result = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(x, Vector256.Create(3f)), inner, g);
            return Vector256.AndNot(result, Vector256.LessThan(x, Vector256.Create(-3f)));
        }
    }
}
