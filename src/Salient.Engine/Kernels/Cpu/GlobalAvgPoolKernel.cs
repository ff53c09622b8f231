using System.Numerics.Tensors;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>The mean of each plane.</summary>
internal static class GlobalAvgPoolKernel
{
    public static void Run(int planes, int planeSize, ReadOnlySpan<float> input, Span<float> output)
    {
        if (planes < 0 || planeSize <= 0 || input.Length != (long)planes * planeSize || output.Length != planes)
        {
            throw new ArgumentException($"GlobalAvgPool of {planes} planes of {planeSize} got {input.Length} inputs and {output.Length} outputs.");
        }

        for (var p = 0; p < planes; p++)
        {
            output[p] = TensorPrimitives.Sum(input.Slice(p * planeSize, planeSize)) / planeSize;
        }
    }
}
