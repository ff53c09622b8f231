using System.Reflection;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using Salient.Engine.Cuda.Kernels;

namespace Salient.Engine.Cuda.Tests;

/// <summary>
/// Every kernel through ILGPU's PTX backend, without a GPU: the CPU accelerator runs kernels as
/// .NET code, so this is where a construct the GPU compiler rejects shows up in CI. (The PTX is
/// not assembled: that needs the driver.)
/// </summary>
public class PtxCompilationTests
{
    // The kernels GpuKernels launches: explicitly grouped ones take no index parameter.
    private static readonly (MethodInfo Kernel, bool Grouped)[] s_kernels =
    [
        (Gemm<SmallGemmTiles, DenseOperand>(), true),
        (Gemm<SmallGemmTiles, Im2ColOperand>(), true),
        (Gemm<LargeGemmTiles, DenseOperand>(), true),
        (Gemm<LargeGemmTiles, Im2ColOperand>(), true),
        (Run(typeof(GlobalAvgPoolKernel)), true),
        (Run(typeof(SoftmaxKernel)), true),
        (Run(typeof(DepthwiseConv2dKernel)), false),
        (Run(typeof(DepthwiseConv2dBackwardDataKernel)), false),
        (Run(typeof(Col2ImKernel)), false),
        (Run(typeof(MaxPool2dKernel)), false),
        (Run(typeof(AvgPool2dKernel)), false),
        (Run(typeof(MaxPool2dBackwardKernel)), false),
        (Run(typeof(MaxPool2dTangentKernel)), false),
        (Run(typeof(AvgPool2dBackwardKernel)), false),
        (Run(typeof(ChannelAffineKernel)), false),
        (Run(typeof(ActivationKernel)), false),
        (Run(typeof(ActivationBackwardKernel)), false),
        (Run(typeof(BinaryKernel)), false),
        (Run(typeof(ReduceToShapeKernel)), false),
        (Run(typeof(ResizeBilinearKernel)), false),
        (Run(typeof(NormalizeKernel)), true),
        (Run(typeof(FillKernel)), false),
        (Run(typeof(GlobalAvgPoolBackwardKernel)), false),
        (Run(typeof(WeightedSumKernel)), false),
        (Run(typeof(ChannelMaxAbsKernel)), false),
        (Run(typeof(MapKernel)), false),
        (Run(typeof(AccumulateKernel)), false),
        (Run(typeof(ChannelWeightsKernel)), true),
        (Run(typeof(ChannelProductSumKernel)), false),
        (Run(typeof(TruncatePositivesKernel)), true),
        (Run(typeof(AddScaledKernel)), false),
        (Run(typeof(FillNormalKernel)), false),
        (Run(typeof(SignTimesKernel)), false),
        (Run(typeof(SignSplitRatioKernel)), false),
        (Run(typeof(SignSplitLinearBackwardKernel)), false),
        (Run(typeof(SpliceByRankKernel)), false),
        (Run(typeof(StridedCopyKernel)), false),
        (Run(typeof(IndexedGatherKernel)), false),
        (Run(typeof(IndexedScatterAddKernel)), false),
        (Run(typeof(RowReduceKernel)), true),
        (Run(typeof(RowReduceBackwardKernel)), true),
        (Run(typeof(LogSoftmaxKernel)), true),
        (Run(typeof(SoftmaxBackwardKernel)), true),
        (Run(typeof(NormalizeRowsKernel)), true),
        (Run(typeof(NormalizeRowsBackwardKernel)), true),
        (Run(typeof(UnaryKernel)), false),
        (Run(typeof(UnaryBackwardKernel)), false),
        (Run(typeof(SelectKernel)), false),
        (Run(typeof(CompareKernel)), false),
        (Run(typeof(PowKernel)), false),
        (Run(typeof(PowBackwardKernel)), false),
        (Run(typeof(ResampleAxisKernel)), false),
        (Run(typeof(ResampleAxisBackwardKernel)), false),
        (Run(typeof(ContractKernel)), false),
    ];

    public static readonly TheoryData<int> Kernels = [.. Enumerable.Range(0, s_kernels.Length)];

    private static MethodInfo Run(Type kernel) => kernel.GetMethod("Run")!;

    // The GEMM with the given tiles, dense A and the given B.
    private static MethodInfo Gemm<TTiles, TB>() => typeof(GemmKernel).GetMethod(nameof(GemmKernel.Run))!.MakeGenericMethod(typeof(TTiles), typeof(DenseOperand), typeof(TB));

    [Theory]
    [MemberData(nameof(Kernels))]
    public void The_kernel_compiles_to_ptx_for_hopper(int index)
    {
        var (kernel, grouped) = s_kernels[index];

        Assert.Contains(".entry", Ptx(kernel, grouped), StringComparison.Ordinal);
    }

    // The four GEMMs come first in the list above.
    public static readonly TheoryData<int> Gemms = [0, 1, 2, 3];

    // What "vectorised" means in the generated code, with either tiles and for dense and implicit
    // B alike (A is dense in both): 16-byte global loads of the dense operand, 16-byte shared reads
    // of the register blocks' columns and stores of runs along the tile, and the register blocks
    // held in registers, not local memory.
    [Theory]
    [MemberData(nameof(Gemms))]
    public void The_gemm_moves_memory_in_16_byte_vectors(int index)
    {
        var ptx = Ptx(s_kernels[index].Kernel, grouped: true);

        Assert.Contains("ld.global.v4.f32", ptx, StringComparison.Ordinal);
        Assert.Contains("ld.shared.v4.f32", ptx, StringComparison.Ordinal);
        Assert.Contains("st.shared.v4.f32", ptx, StringComparison.Ordinal);
        Assert.DoesNotContain(".local", ptx, StringComparison.Ordinal);
    }

    private static string Ptx(MethodInfo kernel, bool grouped)
    {
        using var context = Context.Create(builder => builder.CPU().EnableAlgorithms().Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
        var entry = grouped ? EntryPointDescription.FromExplicitlyGroupedKernel(kernel) : EntryPointDescription.FromImplicitlyGroupedKernel(kernel);
        return ((PTXCompiledKernel)backend.Compile(entry, default(KernelSpecialization))).PTXAssembly;
    }
}
