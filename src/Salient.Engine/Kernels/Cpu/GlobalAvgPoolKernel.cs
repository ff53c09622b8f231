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

    /// <summary>The input gradient: each plane gets its output's gradient spread evenly.</summary>
    public static void Backward(int planes, int planeSize, ReadOnlySpan<float> outputGradient, Span<float> inputGradient)
    {
        if (outputGradient.Length != planes || inputGradient.Length != planes * planeSize)
        {
            throw new ArgumentException($"Global average pool backward of {planes} planes of {planeSize}: gradients of {outputGradient.Length} and {inputGradient.Length} values.");
        }

        for (var p = 0; p < planes; p++)
        {
            inputGradient.Slice(p * planeSize, planeSize).Fill(outputGradient[p] / planeSize);
        }
    }
}
