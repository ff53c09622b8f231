namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// A left GEMM operand made by <see cref="CpuGemm.Prepare"/>; the raw matrix stays the caller's, and
/// <see cref="A"/> is read only without a packed copy (OpenBLAS), never in a pack kept past its call.
/// </summary>
internal sealed unsafe class GemmLhs(int m, int k, float* a, int lda, bool transA, ManagedGemm.PackedA? packed) : IDisposable
{
    public int M { get; } = m;

    public int K { get; } = k;

    public float* A { get; } = a;

    public int Lda { get; } = lda;

    /// <summary>Whether the operand is the transpose of <see cref="A"/> (A is k×m).</summary>
    public bool TransA { get; } = transA;

    /// <summary>The packed copy when the managed GEMM runs the products.</summary>
    public ManagedGemm.PackedA? Packed { get; } = packed;

    public void Dispose() => Packed?.Dispose();
}
