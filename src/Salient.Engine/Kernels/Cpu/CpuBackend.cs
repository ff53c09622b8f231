using System.Runtime.Intrinsics;
using Salient.Engine.Devices;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// The CPU implementation of <see cref="IKernelBackend"/>: managed or OpenBLAS GEMM (see
/// <see cref="GemmProvider"/>) under convolution, managed SIMD kernels for the rest.
/// </summary>
public sealed unsafe class CpuBackend : IKernelBackend
{
    private readonly CpuGemm _gemm;

    /// <param name="gemm">Which GEMM to run; <see cref="GemmProvider.Auto"/> reads <c>SALIENT_GEMM</c> (managed|managed-avx2|openblas).</param>
    public CpuBackend(GemmProvider gemm = GemmProvider.Auto)
    {
        _gemm = new CpuGemm(gemm);
    }

    public string Name => _gemm.UsesOpenBlas ? "cpu/openblas"
        : _gemm.Kernels == ManagedGemm.Kernels.Vector512 ? "cpu/managed" : "cpu/managed-avx2";

    /// <inheritdoc/>
    public Device Device => Device.Cpu;

    /// <inheritdoc/>
    public DeviceBuffer Allocate(int length) => CpuBuffer.Rent(length);

    /// <inheritdoc/>
    public void Fill(BufferView target, float value) => target.Span.Fill(value);

    /// <inheritdoc/>
    public void Copy(BufferView source, BufferView destination) => source.Span.CopyTo(destination.Span);

    /// <inheritdoc/>
    public void Synchronize()
    {
    }

    /// <summary>Whether OpenBLAS (libopenblas.so.0) loads on this machine, so that <see cref="GemmProvider.OpenBlas"/> can run.</summary>
    public static bool OpenBlasAvailable => Native.OpenBlasNative.IsAvailable;

    /// <summary>Whether GEMM runs in OpenBLAS.</summary>
    public bool UsesOpenBlas => _gemm.UsesOpenBlas;

    /// <summary>FP32 lanes of the managed GEMM's vectors: 16 with AVX-512, 8 with AVX2, 1 without either.</summary>
    internal int ManagedLanes => _gemm.Kernels == ManagedGemm.Kernels.Vector512 ? Vector512<float>.Count
        : Vector256.IsHardwareAccelerated ? Vector256<float>.Count
        : 1;

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        BufferView a, int lda, BufferView b, int ldb, float beta, BufferView c, int ldc)
    {
        CpuGemm.Validate(transA, transB, m, n, k, lda, a.Length, ldb, b.Length, ldc, c.Length);
        if (m == 0 || n == 0)
        {
            return;
        }

        fixed (float* pa = a.Span, pb = b.Span, pc = c.Span)
        {
            _gemm.Sgemm(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        }
    }

    public void Conv2d(in Conv2dGeometry g, BufferView input, BufferView weight, BufferView bias,
        BufferView output, in FusedActivation activation, bool accumulate = false, PreparedWeights? prepared = null) =>
        Conv2dKernel.Run(_gemm, g, input.Span, new WeightCache(prepared, weight), bias.Span, output.Span, activation, accumulate);

    public void MaxPool2d(in Pool2dGeometry g, BufferView input, BufferView output) =>
        MaxPool2dKernel.Run(g, input.Span, output.Span);

    public void AvgPool2d(in Pool2dGeometry g, bool countIncludePad, BufferView input, BufferView output) =>
        AvgPool2dKernel.Run(g, countIncludePad, input.Span, output.Span);

    public void GlobalAvgPool(int planes, int planeSize, BufferView input, BufferView output) =>
        GlobalAvgPoolKernel.Run(planes, planeSize, input.Span, output.Span);

    public void ChannelAffine(int n, int channels, int spatial, BufferView input, BufferView scale,
        BufferView shift, BufferView output, in FusedActivation activation) =>
        ChannelAffineKernel.Run(n, channels, spatial, input.Span, scale.Span, shift.Span, output.Span, activation);

    public void BatchNormTraining(int n, int channels, int spatial, BufferView input, BufferView gamma, BufferView beta,
        float epsilon, BufferView output, BufferView mean, BufferView variance) =>
        BatchNormTrainingKernel.Forward(n, channels, spatial, input.Span, gamma.Span, beta.Span, epsilon, output.Span, mean.Span, variance.Span);

    public void BatchNormTrainingBackward(int n, int channels, int spatial, BufferView input, BufferView gamma, float epsilon,
        BufferView outputGradient, BufferView inputGradient, BufferView gammaGradient, BufferView betaGradient) =>
        BatchNormTrainingKernel.Backward(n, channels, spatial, input.Span, gamma.Span, epsilon, outputGradient.Span, inputGradient.Span, gammaGradient.Span, betaGradient.Span);

    public void Activate(in FusedActivation activation, BufferView input, BufferView output) =>
        ActivationKernel.ApplyParallel(activation, input.Span, output.Span);

    public void Binary(BinaryOp op, BufferView a, ReadOnlySpan<int> aShape, BufferView b, ReadOnlySpan<int> bShape,
        BufferView output, ReadOnlySpan<int> outShape, in FusedActivation activation = default) =>
        BinaryKernel.Run(op, a.Span, aShape, b.Span, bShape, output.Span, outShape, activation);

    public void Softmax(int rows, int cols, BufferView input, BufferView output) =>
        SoftmaxKernel.Run(rows, cols, input.Span, output.Span);

    public void Conv2dBackwardData(in Conv2dGeometry g, BufferView weight, BufferView outputGradient, BufferView inputGradient, PreparedWeights? prepared = null) =>
        Conv2dBackwardKernel.Data(_gemm, g, new WeightCache(prepared, weight), outputGradient.Span, inputGradient.Span);

    public void Conv2dBackwardWeights(in Conv2dGeometry g, BufferView input, BufferView outputGradient, BufferView weightGradient, BufferView biasGradient) =>
        Conv2dBackwardKernel.Weights(_gemm, g, input.Span, outputGradient.Span, weightGradient.Span, biasGradient.Span);

    public void MaxPool2dBackward(in Pool2dGeometry g, BufferView input, BufferView output, BufferView outputGradient,
        BufferView inputGradient) =>
        Pool2dBackwardKernel.Max(g, input.Span, output.Span, outputGradient.Span, inputGradient.Span);

    public void MaxPool2dTangent(in Pool2dGeometry g, BufferView input, BufferView output, BufferView inputTangent, BufferView outputTangent) =>
        Pool2dBackwardKernel.MaxTangent(g, input.Span, output.Span, inputTangent.Span, outputTangent.Span);

    public void GlobalAvgPoolBackward(int planes, int planeSize, BufferView outputGradient, BufferView inputGradient) =>
        GlobalAvgPoolKernel.Backward(planes, planeSize, outputGradient.Span, inputGradient.Span);

    public void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, BufferView outputGradient, BufferView inputGradient) =>
        Pool2dBackwardKernel.Average(g, countIncludePad, outputGradient.Span, inputGradient.Span);

    public void ActivateBackward(in FusedActivation activation, BufferView input, BufferView output,
        BufferView outputGradient, BufferView inputGradient) =>
        ActivationBackwardKernel.Run(activation, input.Span, output.Span, outputGradient.Span, inputGradient.Span);

    public void ReduceToShape(BufferView input, ReadOnlySpan<int> inShape, BufferView output, ReadOnlySpan<int> outShape) =>
        ReduceToShapeKernel.Run(input.Span, inShape, output.Span, outShape);

    public void ResizeBilinear(int planes, int inHeight, int inWidth, BufferView input, int outHeight, int outWidth,
        BufferView output, bool alignCorners) =>
        ResizeBilinearKernel.Run(planes, inHeight, inWidth, input.Span, outHeight, outWidth, output.Span, alignCorners);

    public void WeightedSum(int channels, int plane, BufferView maps, BufferView weights, BufferView output) =>
        MapKernels.WeightedSum(channels, plane, maps.Span, weights.Span, output.Span);

    public void PlaneMeans(int channels, int plane, BufferView input, BufferView output) =>
        MapKernels.PlaneMeans(channels, plane, input.Span, output.Span);

    public void ChannelMaxAbs(int channels, int plane, BufferView input, BufferView output) =>
        MapKernels.ChannelMaxAbs(channels, plane, input.Span, output.Span);

    public void Map(MapFunction map, BufferView input, BufferView output) =>
        MapKernels.Map(map, input.Span, output.Span);

    public void Normalize(MapNormalization normalization, float epsilon, int planes, BufferView map) =>
        MapKernels.Normalize(normalization, epsilon, planes, map.Span);

    public void Accumulate(MapFusion fusion, BufferView addend, BufferView accumulator) =>
        MapKernels.Accumulate(fusion, addend.Span, accumulator.Span);

    // Method arithmetic

    public void ChannelWeights(ChannelWeighting weighting, int channels, int plane, BufferView activations, BufferView gradients, BufferView weights) =>
        MethodKernels.ChannelWeights(weighting, channels, plane, activations.Span, gradients.Span, weights.Span);

    public void ChannelProductSum(ChannelProduct product, int channels, int plane, BufferView activations, BufferView gradients, BufferView output) =>
        MethodKernels.ChannelProductSum(product, channels, plane, activations.Span, gradients.Span, output.Span);

    public void TruncatePositives(QuantileTruncation truncation, float quantile, int segments, BufferView values) =>
        MethodKernels.TruncatePositives(truncation, quantile, segments, values.Span);

    public void AddScaled(BufferView pattern, BufferView scales, BufferView target) =>
        MethodKernels.AddScaled(pattern.Span, scales.Span, target.Span);

    public void FillNormal(ulong seed, ulong stream, float mean, float deviation, BufferView destination) =>
        FillNormalKernel.Run(seed, stream, mean, deviation, AsMemory(destination));

    /// <inheritdoc/>
    public void SignTimes(int images, int channels, int plane, BufferView x, BufferView map, BufferView output) =>
        MethodKernels.SignTimes(images, channels, plane, x.Span, map.Span, output.Span);

    public void SignSplitLinearBackward(int rows, int inputs, int outputs, bool weightsTransposed, float gamma, BufferView input, BufferView weights,
        BufferView outputGradient, BufferView inputGradient) =>
        MethodKernels.SignSplitLinearBackward(rows, inputs, outputs, weightsTransposed, gamma, input.Span, weights.Span, outputGradient.Span, inputGradient.Span);

    public void SpliceByRank(int channels, int plane, BufferView source, BufferView replacement, BufferView ranks, BufferView limits, BufferView output) =>
        MethodKernels.SpliceByRank(channels, plane, source.Span, replacement.Span, ranks.Span, limits.Span, output.Span);
    // Data-movement and normalisation operators

    public void StridedCopy(ReadOnlySpan<int> shape, BufferView source, int sourceOffset, ReadOnlySpan<int> sourceStrides,
        BufferView destination, int destinationOffset, ReadOnlySpan<int> destinationStrides, bool accumulate) =>
        StridedCopyKernel.Run(shape, source.Span, sourceOffset, sourceStrides, destination.Span, destinationOffset, destinationStrides, accumulate);

    public void IndexedGather(int[] indices, float fill, BufferView input, BufferView output) =>
        StridedCopyKernel.IndexedGather(indices, fill, input.Span, output.Span);

    public void IndexedScatterAdd(int[] indices, BufferView gradient, BufferView target) =>
        StridedCopyKernel.IndexedScatterAdd(indices, gradient.Span, target.Span);

    public void ReduceRows(RowReduction reduction, int rows, int cols, BufferView input, BufferView output) =>
        RowReduceKernel.Run(reduction, rows, cols, input.Span, output.Span);

    public void ReduceRowsBackward(RowReduction reduction, bool firstOnly, int rows, int cols, BufferView input, BufferView output,
        BufferView outputGradient, BufferView inputGradient) =>
        RowReduceKernel.Backward(reduction, firstOnly, rows, cols, input.Span, output.Span, outputGradient.Span, inputGradient.Span);

    public void LogSoftmax(int rows, int cols, BufferView input, BufferView output) =>
        SoftmaxKernel.Log(rows, cols, input.Span, output.Span);

    public void SoftmaxBackward(bool log, int rows, int cols, BufferView output, BufferView outputGradient, BufferView inputGradient) =>
        SoftmaxKernel.Backward(log, rows, cols, output.Span, outputGradient.Span, inputGradient.Span);

    public void NormalizeRows(RowAffine affine, int rows, int cols, float epsilon, BufferView input, BufferView scale, BufferView bias, BufferView output) =>
        RowNormKernel.Forward(affine, rows, cols, epsilon, AsMemory(input), AsMemory(scale), AsMemory(bias), AsMemory(output));

    public void NormalizeRowsBackward(RowAffine affine, int rows, int cols, float epsilon, BufferView input, BufferView scale,
        BufferView outputGradient, BufferView inputGradient, BufferView scaleGradient, BufferView biasGradient) =>
        RowNormKernel.Backward(affine, rows, cols, epsilon, input.Span, scale.Span, outputGradient.Span, inputGradient.Span, scaleGradient.Span, biasGradient.Span);

    public void Unary(UnaryFunction unary, BufferView input, BufferView output) =>
        UnaryKernel.Run(unary, AsMemory(input), AsMemory(output));

    public void UnaryBackward(UnaryFunction unary, BufferView input, BufferView output, BufferView outputGradient, BufferView inputGradient) =>
        UnaryKernel.Backward(unary, input.Span, output.Span, outputGradient.Span, inputGradient.Span);

    public void Choose(BufferView condition, BufferView whenTrue, BufferView whenFalse, BufferView output) =>
        SelectKernel.Choose(condition.Span, whenTrue.Span, whenFalse.Span, output.Span);

    public void Compare(Comparison comparison, BufferView a, BufferView b, BufferView output) =>
        SelectKernel.Compare(comparison, a.Span, b.Span, output.Span);

    public void Pow(BufferView x, BufferView exponent, BufferView output) => PowKernel.Run(x.Span, exponent.Span, output.Span);

    public void PowBackward(BufferView x, BufferView exponent, BufferView outputGradient, BufferView xGradient, BufferView exponentGradient) =>
        PowKernel.Backward(x.Span, exponent.Span, outputGradient.Span, xGradient.Span, exponentGradient.Span);

    public void ResampleAxis(AxisResampling resampling, BufferView input, BufferView output) =>
        ResampleKernel.Run(resampling, input.Span, output.Span, transpose: false);

    public void ResampleAxisBackward(AxisResampling resampling, BufferView outputGradient, BufferView inputGradient) =>
        ResampleKernel.Run(resampling, inputGradient.Span, outputGradient.Span, transpose: true);

    public void Contract(ReadOnlySpan<int> shape, int keptAxes, BufferView a, ReadOnlySpan<int> aStrides, BufferView b, ReadOnlySpan<int> bStrides, BufferView output) =>
        ContractKernel.Run(shape, keptAxes, a.Span, aStrides, b.Span, bStrides, output.Span);

    // A host view as memory, for kernels that split the work across threads (spans cannot cross into lambdas).
    private static Memory<float> AsMemory(BufferView view) => view.Buffer switch
    {
        null => Memory<float>.Empty,
        CpuBuffer cpu => cpu.Memory.Slice(view.Offset, view.Length),
        _ => throw DeviceBuffer.WrongDevice(view.Device, Device.Cpu),
    };
}
