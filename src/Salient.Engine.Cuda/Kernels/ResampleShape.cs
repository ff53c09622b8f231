using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>The extents of an <see cref="AxisResampling"/> as a kernel parameter (its tables travel as views).</summary>
public readonly struct ResampleShape(AxisResampling r)
{
    public int InSize { get; } = r.InSize;

    public int OutSize { get; } = r.OutSize;

    public int Inner { get; } = r.Inner;

    public int Taps { get; } = r.Taps;
}
