namespace Salient.Engine.Cuda.Kernels;

/// <summary>
/// Four consecutive floats. ILGPU's PTX backend reads and writes a struct of four floats through a
/// 16-byte aligned pointer with one vector instruction (<c>ld.global.v4.f32</c>,
/// <c>ld.shared.v4.f32</c>, ...), so a view cast to <see cref="Float4"/> is how kernels ask for
/// vectorised memory access; the element index of such a view must be a multiple of 4 floats.
/// </summary>
public readonly struct Float4(float x, float y, float z, float w)
{
    public float X { get; } = x;

    public float Y { get; } = y;

    public float Z { get; } = z;

    public float W { get; } = w;

    /// <summary><paramref name="acc"/> + <paramref name="s"/>·<paramref name="v"/> per lane (a PTX mul and add without rounding modifiers, which ptxas fuses into an FMA by default).</summary>
    public static Float4 MultiplyAdd(Float4 acc, float s, Float4 v) =>
        new(acc.X + (s * v.X), acc.Y + (s * v.Y), acc.Z + (s * v.Z), acc.W + (s * v.W));
}
