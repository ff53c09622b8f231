using System.Runtime.Intrinsics.X86;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Engine.Tests.Kernels;

/// <summary>
/// Which Winograd kernel ResNet's 3×3 stride-1 layers take with a model's kept weights on the managed
/// GEMM (AVX-512, or AVX2 where that is the widest): the rule the benchmarks in docs/benchmarks chose (F(4×4) for the 64- and 128-channel
/// layers; F(2×2) for the 256-channel ones, whose F(4×4) transforms would lift the peak memory above ONNX
/// Runtime's, and the 7×7 ones), so that a change is seen here before in a parity margin or a peak-memory
/// figure. Told apart by their arithmetic: on small integers F(2×2) (coefficients 0, ±½, ±1) and im2col
/// are exact, F(4×4) (G holds thirds and fifteenths) is not.
/// </summary>
public class WinogradSelectionTests
{
    public static readonly TheoryData<int, int, bool> Layers = new()
    {
        { 64, 56, true },
        { 128, 28, true },
        { 256, 14, false },
        { 512, 7, false },
    };

    [SkippableTheory]
    [MemberData(nameof(Layers))]
    public void ResNet_layer_takes_F4x4_only_where_the_rule_says(int channels, int plane, bool f4x4)
    {
        Skip.IfNot(Avx512F.IsSupported || (Avx2.IsSupported && Fma.IsSupported), "F(4×4) needs AVX-512 or AVX2 with FMA");
        var g = new Conv2dGeometry(1, channels, plane, plane, channels, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1);
        var random = new Random(channels);
        var input = Enumerable.Range(0, channels * plane * plane).Select(_ => (float)random.Next(-2, 3)).ToArray();
        var weight = BufferView.Host(Enumerable.Range(0, channels * channels * 9).Select(_ => (float)random.Next(-2, 3)).ToArray());
        var cpu = Backends.Get("managed");

        // Without kept weights: F(2×2) or im2col, exact either way.
        var exact = new float[channels * plane * plane];
        cpu.Conv2d(g, input, weight, Array.Empty<float>(), exact, FusedActivation.None);
        var kept = new float[exact.Length];
        cpu.Conv2d(g, input, weight, Array.Empty<float>(), kept, FusedActivation.None, prepared: new PreparedWeights());

        // F(4×4)'s rounding, on sums up to a few hundred, stays near float precision of the largest.
        var scale = exact.Max(Math.Abs);
        Assert.All(exact.Zip(kept), pair => Assert.True(Math.Abs(pair.First - pair.Second) <= 1e-5f * scale, $"{pair.Second} for {pair.First}"));
        Assert.Equal(f4x4, !exact.SequenceEqual(kept));
    }
}
