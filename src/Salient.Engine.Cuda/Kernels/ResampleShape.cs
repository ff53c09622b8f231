using ILGPU;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>The extents of an <see cref="AxisResampling"/> as a kernel parameter (its tables travel as views).</summary>
public readonly struct ResampleShape(AxisResampling r)
{
    public int InSize { get; } = r.InSize;

    public int OutSize { get; } = r.OutSize;

    public int Inner { get; } = r.Inner;

    public int Taps { get; } = r.Taps;

    /// <summary>Where tap <paramref name="t"/> of output value <paramref name="i"/> reads the input, and the tap's index in the tables.</summary>
    public long Source(int i, int t, ArrayView<int> indices, out int tap)
    {
        var j = (i / Inner) % OutSize;
        var o = (long)(i / Inner / OutSize);
        tap = (j * Taps) + t;
        return (((o * InSize) + indices[tap]) * Inner) + (i % Inner);
    }
}
