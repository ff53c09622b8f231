using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// One plane's pooling window geometry as a kernel parameter (<see cref="Pool2dGeometry"/> holds a
/// bool, which kernels cannot take), with the output extents worked out on the host.
/// </summary>
public readonly struct PoolShape(in Pool2dGeometry g)
{
    public int InHeight { get; } = g.InHeight;

    public int InWidth { get; } = g.InWidth;

    public int KernelHeight { get; } = g.KernelHeight;

    public int KernelWidth { get; } = g.KernelWidth;

    public int StrideHeight { get; } = g.StrideHeight;

    public int StrideWidth { get; } = g.StrideWidth;

    public int PadTop { get; } = g.PadTop;

    public int PadLeft { get; } = g.PadLeft;

    public int PadBottom { get; } = g.PadBottom;

    public int PadRight { get; } = g.PadRight;

    public int DilationHeight { get; } = g.DilationHeight;

    public int DilationWidth { get; } = g.DilationWidth;

    public int OutHeight { get; } = g.OutHeight;

    public int OutWidth { get; } = g.OutWidth;
}
