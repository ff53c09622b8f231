namespace Salient.Engine.Kernels.Cpu;

/// <summary>Which GEMM the CPU backend runs.</summary>
public enum GemmProvider
{
    /// <summary>The <c>SALIENT_GEMM</c> environment variable when set, else OpenBLAS when it loads, else managed.</summary>
    Auto,

    /// <summary>OpenBLAS <c>cblas_sgemm</c>; an error when the library is missing.</summary>
    OpenBlas,

    /// <summary>The managed SIMD GEMM.</summary>
    Managed,
}
