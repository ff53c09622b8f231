using ILGPU;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>Copy k of [channels, plane] values: replacement where ranks[p] &lt; limits[k], else source: one thread per output value.</summary>
public static class SpliceByRankKernel
{
    public static void Run(Index1D i, ArrayView<float> source, ArrayView<float> replacement, ArrayView<float> ranks, ArrayView<float> limits,
        ArrayView<float> output, int channels, int plane)
    {
        var size = channels * plane;
        var k = (int)i / size;
        var at = (int)i % size;
        output[i] = ranks[at % plane] < limits[k] ? replacement[at] : source[at];
    }
}
