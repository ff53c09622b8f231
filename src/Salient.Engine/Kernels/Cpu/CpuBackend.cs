namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// The CPU implementation of <see cref="IKernelBackend"/>: OpenBLAS or managed GEMM (see
/// <see cref="GemmProvider"/>) under convolution, managed SIMD kernels for the rest.
/// </summary>
public sealed unsafe class CpuBackend : IKernelBackend
{
    private readonly CpuGemm _gemm;

    /// <param name="gemm">Which GEMM to run; <see cref="GemmProvider.Auto"/> reads <c>SALIENT_GEMM</c> (openblas|managed).</param>
    public CpuBackend(GemmProvider gemm = GemmProvider.Auto)
    {
        _gemm = new CpuGemm(gemm);
    }

    public string Name => _gemm.UsesOpenBlas ? "cpu/openblas" : "cpu/managed";

    /// <summary>Whether OpenBLAS (libopenblas.so.0) loads on this machine, so that <see cref="GemmProvider.OpenBlas"/> can run.</summary>
    public static bool OpenBlasAvailable => Native.OpenBlasNative.IsAvailable;

    /// <summary>Whether GEMM runs in OpenBLAS.</summary>
    public bool UsesOpenBlas => _gemm.UsesOpenBlas;

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        CpuGemm.Validate(transA, transB, m, n, k, lda, a.Length, ldb, b.Length, ldc, c.Length);
        if (m == 0 || n == 0)
        {
            return;
        }

        fixed (float* pa = a, pb = b, pc = c)
        {
            _gemm.Sgemm(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        }
    }

    public void Conv2d(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, in FusedActivation activation, bool accumulate = false) =>
        Conv2dKernel.Run(_gemm, g, input, weight, bias, output, activation, accumulate);

    public void MaxPool2d(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output) =>
        MaxPool2dKernel.Run(g, input, output);

    public void AvgPool2d(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> input, Span<float> output) =>
        AvgPool2dKernel.Run(g, countIncludePad, input, output);

    public void GlobalAvgPool(int planes, int planeSize, ReadOnlySpan<float> input, Span<float> output) =>
        GlobalAvgPoolKernel.Run(planes, planeSize, input, output);

    public void ChannelAffine(int n, int channels, int spatial, ReadOnlySpan<float> input, ReadOnlySpan<float> scale,
        ReadOnlySpan<float> shift, Span<float> output, in FusedActivation activation) =>
        ChannelAffineKernel.Run(n, channels, spatial, input, scale, shift, output, activation);

    public void BatchNormTraining(int n, int channels, int spatial, ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        float epsilon, Span<float> output, Span<float> mean, Span<float> variance) =>
        BatchNormTrainingKernel.Forward(n, channels, spatial, input, gamma, beta, epsilon, output, mean, variance);

    public void BatchNormTrainingBackward(int n, int channels, int spatial, ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, float epsilon,
        ReadOnlySpan<float> outputGradient, Span<float> inputGradient, Span<float> gammaGradient, Span<float> betaGradient) =>
        BatchNormTrainingKernel.Backward(n, channels, spatial, input, gamma, epsilon, outputGradient, inputGradient, gammaGradient, betaGradient);

    public void Activate(in FusedActivation activation, ReadOnlySpan<float> input, Span<float> output) =>
        ActivationKernel.ApplyParallel(activation, input, output);

    public void Binary(BinaryOp op, ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape,
        Span<float> output, ReadOnlySpan<int> outShape, in FusedActivation activation = default) =>
        BinaryKernel.Run(op, a, aShape, b, bShape, output, outShape, activation);

    public void Softmax(int rows, int cols, ReadOnlySpan<float> input, Span<float> output) =>
        SoftmaxKernel.Run(rows, cols, input, output);

    public void Conv2dBackwardData(in Conv2dGeometry g, ReadOnlySpan<float> weight, ReadOnlySpan<float> outputGradient, Span<float> inputGradient) =>
        Conv2dBackwardKernel.Data(_gemm, g, weight, outputGradient, inputGradient);

    public void Conv2dBackwardWeights(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> outputGradient, Span<float> weightGradient, Span<float> biasGradient) =>
        Conv2dBackwardKernel.Weights(_gemm, g, input, outputGradient, weightGradient, biasGradient);

    public void MaxPool2dBackward(in Pool2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient,
        Span<float> inputGradient) =>
        Pool2dBackwardKernel.Max(g, input, output, outputGradient, inputGradient);

    public void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> outputGradient, Span<float> inputGradient) =>
        Pool2dBackwardKernel.Average(g, countIncludePad, outputGradient, inputGradient);

    public void ActivateBackward(in FusedActivation activation, ReadOnlySpan<float> input, ReadOnlySpan<float> output,
        ReadOnlySpan<float> outputGradient, Span<float> inputGradient) =>
        ActivationBackwardKernel.Run(activation, input, output, outputGradient, inputGradient);

    public void ReduceToShape(ReadOnlySpan<float> input, ReadOnlySpan<int> inShape, Span<float> output, ReadOnlySpan<int> outShape) =>
        ReduceToShapeKernel.Run(input, inShape, output, outShape);

    public void ResizeBilinear(int planes, int inHeight, int inWidth, ReadOnlySpan<float> input, int outHeight, int outWidth,
        Span<float> output, bool alignCorners) =>
        ResizeBilinearKernel.Run(planes, inHeight, inWidth, input, outHeight, outWidth, output, alignCorners);
}
