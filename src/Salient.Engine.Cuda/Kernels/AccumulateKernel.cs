using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>acc = acc ⊕ addend for a <see cref="MapFusion"/> (as an int), NaN kept by the maximum.</summary>
public static class AccumulateKernel
{
    public static void Run(Index1D i, ArrayView<float> addend, ArrayView<float> acc, int fusion)
    {
        var a = acc[i];
        var b = addend[i];
        acc[i] = fusion switch
        {
            (int)MapFusion.Sum => a + b,
            (int)MapFusion.Max => DeviceActivation.Max(a, b),
            _ => a * b,
        };
    }
}
