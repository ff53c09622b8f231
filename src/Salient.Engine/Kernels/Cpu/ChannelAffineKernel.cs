namespace Salient.Engine.Kernels.Cpu;

/// <summary>y = act(x·scale[c] + shift[c]) over [N, C, spatial] data, one plane per work item.</summary>
internal static unsafe class ChannelAffineKernel
{
    public static void Run(int n, int channels, int spatial, ReadOnlySpan<float> input, ReadOnlySpan<float> scale,
        ReadOnlySpan<float> shift, Span<float> output, in FusedActivation activation)
    {
        var length = (long)n * channels * spatial;
        if (n < 0 || channels < 0 || spatial < 0 || input.Length != length || output.Length != length
            || scale.Length != channels || shift.Length != channels)
        {
            throw new ArgumentException($"ChannelAffine over [{n},{channels},{spatial}] got {input.Length} inputs, {output.Length} outputs, {scale.Length} scales, {shift.Length} shifts.");
        }

        var act = activation;
        fixed (float* pIn = input, pOut = output, pScale = scale, pShift = shift)
        {
            var src = pIn;
            var dst = pOut;
            var s = pScale;
            var t = pShift;
            CpuParallel.For(n * channels, spatial, p =>
            {
                var c = p % channels;
                var offset = (long)p * spatial;
                ActivationKernel.Apply(act, new ReadOnlySpan<float>(src + offset, spatial), new Span<float>(dst + offset, spatial), s[c], t[c]);
            });
        }
    }
}
