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
        (Generic(nameof(GemmKernel.Run), typeof(DenseOperand), typeof(DenseOperand)), true),
        (Generic(nameof(GemmKernel.Run), typeof(DenseOperand), typeof(Im2ColOperand)), true),
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

    private static MethodInfo Generic(string name, params Type[] arguments) => typeof(GemmKernel).GetMethod(name)!.MakeGenericMethod(arguments);

    [Theory]
    [MemberData(nameof(Kernels))]
    public void The_kernel_compiles_to_ptx_for_hopper(int index)
    {
        var (kernel, grouped) = s_kernels[index];
        using var context = Context.Create(builder => builder.CPU().EnableAlgorithms().Optimize(OptimizationLevel.O2));
        using var backend = new PTXBackend(context, new CudaCapabilityContext(CudaArchitecture.SM_90), CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null);
        var entry = grouped ? EntryPointDescription.FromExplicitlyGroupedKernel(kernel) : EntryPointDescription.FromImplicitlyGroupedKernel(kernel);

        var compiled = (PTXCompiledKernel)backend.Compile(entry, default(KernelSpecialization));

        Assert.Contains(".entry", compiled.PTXAssembly, StringComparison.Ordinal);
    }
}
