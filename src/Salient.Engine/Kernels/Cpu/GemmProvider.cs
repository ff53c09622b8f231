namespace Salient.Engine.Kernels.Cpu;

/// <summary>Which GEMM the CPU backend runs.</summary>
public enum GemmProvider
{
    /// <summary>The <c>SALIENT_GEMM</c> environment variable when set, else managed: it outruns OpenBLAS's AVX2 kernels and needs no library.</summary>
    Auto,

    /// <summary>OpenBLAS <c>cblas_sgemm</c>; an error when the library is missing.</summary>
    OpenBlas,

    /// <summary>The managed SIMD GEMM, with the widest vectors the CPU accelerates.</summary>
    Managed,

    /// <summary>The managed GEMM held to 256-bit vectors (AVX2), as it runs on CPUs without AVX-512: for tests and comparisons.</summary>
    ManagedAvx2,
}
