namespace Salient.Engine.Kernels.Cpu;

/// <summary>Activation gradients with PyTorch's conventions at the kinks (Relu: y &gt; 0; Clip and HardSigmoid: strictly inside; HardSwish: −3 ≤ x ≤ 3 uses x/3 + ½).</summary>
internal static class ActivationBackwardKernel
{
    public static void Run(in FusedActivation a, ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (dx.Length != dy.Length || x.Length != dy.Length || y.Length != dy.Length)
        {
            throw new ArgumentException($"Activation backward got {x.Length} inputs, {y.Length} outputs, {dy.Length} gradients and room for {dx.Length}.");
        }

        var (alpha, beta) = (a.Alpha, a.Beta);
        for (var i = 0; i < dx.Length; i++)
        {
            var g = dy[i];
            var v = x[i];
            dx[i] = a.Kind switch
            {
                ActivationKind.None => g,
                ActivationKind.Relu => y[i] > 0f ? g : 0f,
                ActivationKind.LeakyRelu => v > 0f ? g : g * alpha,
                ActivationKind.Clip => v > alpha && v < beta ? g : 0f,
                ActivationKind.Sigmoid => g * y[i] * (1f - y[i]),
                ActivationKind.HardSigmoid => (alpha * v) + beta is > 0f and < 1f ? g * alpha : 0f,
                ActivationKind.HardSwish => v < -3f ? 0f : v <= 3f ? g * ((v / 3f) + 0.5f) : g,
                _ => throw new ArgumentOutOfRangeException(nameof(a), a.Kind, "Unknown activation."),
            };
        }
    }
}
