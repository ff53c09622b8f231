namespace Salient.Engine.Kernels;

/// <summary>
/// The compute primitives the graph executor needs: the extension point for a new device. One
/// implementation per device: the CPU one (<see cref="Cpu.CpuBackend"/>) now, CUDA later; a model
/// takes its backend at load (<see cref="Model.Load(string, IKernelBackend)"/>), steps reach it
/// through <see cref="Graph.StepContext.Backend"/> and <see cref="Graph.Backward.BackwardContext.Backend"/>. Buffers are dense row-major float32; an empty <c>bias</c> span means no bias.
/// Implementations may use up to <see cref="Environment.ProcessorCount"/> threads.
/// </summary>
public interface IKernelBackend
{
    /// <summary>A short name for logs and benchmarks, e.g. "cpu/openblas" or "cpu/managed".</summary>
    string Name { get; }

    /// <summary>C = alpha·op(A)·op(B) + beta·C, row-major, op = transpose when the flag is set.</summary>
    void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc);

    /// <summary>
    /// 2-D convolution of NCHW input with [OC, C/groups, KH, KW] weights, plus bias, then
    /// <paramref name="activation"/>. With <paramref name="accumulate"/> the output already holds a
    /// residual that joins the sum before the activation: output = act(conv + bias + output).
    /// </summary>
    void Conv2d(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        Span<float> output, in FusedActivation activation, bool accumulate = false);

    /// <summary>Max pooling; padded cells never win.</summary>
    void MaxPool2d(in Pool2dGeometry g, ReadOnlySpan<float> input, Span<float> output);

    /// <summary>Average pooling; with <paramref name="countIncludePad"/> padded cells count in the divisor.</summary>
    void AvgPool2d(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> input, Span<float> output);

    /// <summary>Mean over the spatial extent of each of <paramref name="planes"/> planes of <paramref name="planeSize"/> values.</summary>
    void GlobalAvgPool(int planes, int planeSize, ReadOnlySpan<float> input, Span<float> output);

    /// <summary>
    /// y = x·scale[c] + shift[c] over [N, C, spatial] data, then <paramref name="activation"/>
    /// (inference batch norm with its statistics folded into scale and shift).
    /// </summary>
    void ChannelAffine(int n, int channels, int spatial, ReadOnlySpan<float> input, ReadOnlySpan<float> scale,
        ReadOnlySpan<float> shift, Span<float> output, in FusedActivation activation);

    /// <summary>
    /// Training batch norm over [N, C, spatial]: normalizes each channel with its batch mean and
    /// biased variance (written to <paramref name="mean"/> and <paramref name="variance"/>), then scales and shifts.
    /// </summary>
    void BatchNormTraining(int n, int channels, int spatial, ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        float epsilon, Span<float> output, Span<float> mean, Span<float> variance);

    /// <summary>Elementwise activation; input and output may be the same buffer.</summary>
    void Activate(in FusedActivation activation, ReadOnlySpan<float> input, Span<float> output);

    /// <summary>
    /// Elementwise binary op with numpy broadcasting of shapes <paramref name="aShape"/> and
    /// <paramref name="bShape"/> to <paramref name="outShape"/>, then <paramref name="activation"/>
    /// (a residual Add followed by ReLU is one pass).
    /// </summary>
    void Binary(BinaryOp op, ReadOnlySpan<float> a, ReadOnlySpan<int> aShape, ReadOnlySpan<float> b, ReadOnlySpan<int> bShape,
        Span<float> output, ReadOnlySpan<int> outShape, in FusedActivation activation = default);

    /// <summary>Softmax over the last axis of <paramref name="rows"/> rows of <paramref name="cols"/> values.</summary>
    void Softmax(int rows, int cols, ReadOnlySpan<float> input, Span<float> output);

    // Backward: vector-Jacobian products. Each overwrites its gradient output.

    /// <summary>The input gradient of <see cref="Conv2d"/> (no bias or activation): a transposed convolution of <paramref name="outputGradient"/> with the weights.</summary>
    void Conv2dBackwardData(in Conv2dGeometry g, ReadOnlySpan<float> weight, ReadOnlySpan<float> outputGradient, Span<float> inputGradient);

    /// <summary>The weight gradient of <see cref="Conv2d"/>, [OC, C/groups, KH, KW], summed over the batch; the bias gradient (when not empty) is the output gradient summed per channel.</summary>
    void Conv2dBackwardWeights(in Conv2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> outputGradient, Span<float> weightGradient, Span<float> biasGradient);

    /// <summary>The input, scale and shift gradients of <see cref="BatchNormTraining"/>, recomputing the batch statistics from the input.</summary>
    void BatchNormTrainingBackward(int n, int channels, int spatial, ReadOnlySpan<float> input, ReadOnlySpan<float> gamma, float epsilon,
        ReadOnlySpan<float> outputGradient, Span<float> inputGradient, Span<float> gammaGradient, Span<float> betaGradient);

    /// <summary>
    /// The input gradient of max pooling, given the forward's input and output: each output's gradient
    /// goes to its window's first maximum (PyTorch's tie rule), accumulating where windows share one.
    /// </summary>
    void MaxPool2dBackward(in Pool2dGeometry g, ReadOnlySpan<float> input, ReadOnlySpan<float> output, ReadOnlySpan<float> outputGradient,
        Span<float> inputGradient);

    /// <summary>The input gradient of <see cref="AvgPool2d"/> with the same divisor rule.</summary>
    void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, ReadOnlySpan<float> outputGradient, Span<float> inputGradient);

    /// <summary>
    /// The input gradient of an activation, given its forward input and output. Relu, LeakyRelu
    /// and Clip pass the gradient where PyTorch does (Relu: output &gt; 0; Clip: min &lt; x &lt; max).
    /// <paramref name="inputGradient"/> may be <paramref name="outputGradient"/> (in place).
    /// </summary>
    void ActivateBackward(in FusedActivation activation, ReadOnlySpan<float> input, ReadOnlySpan<float> output,
        ReadOnlySpan<float> outputGradient, Span<float> inputGradient);

    /// <summary>Sums <paramref name="input"/> of shape <paramref name="inShape"/> over the axes it was broadcast along to reach it from <paramref name="outShape"/> (the backward of broadcasting).</summary>
    void ReduceToShape(ReadOnlySpan<float> input, ReadOnlySpan<int> inShape, Span<float> output, ReadOnlySpan<int> outShape);

    /// <summary>
    /// Bilinear resize of <paramref name="planes"/> planes. Half-pixel centres with edge
    /// replication (OpenCV INTER_LINEAR, PyTorch align_corners=False, no antialias) or, with
    /// <paramref name="alignCorners"/>, corner-aligned sampling (PyTorch align_corners=True).
    /// </summary>
    void ResizeBilinear(int planes, int inHeight, int inWidth, ReadOnlySpan<float> input, int outHeight, int outWidth,
        Span<float> output, bool alignCorners);
}

/// <summary>Elementwise binary operations with broadcasting.</summary>
public enum BinaryOp
{
    Add,
    Sub,
    Mul,
    Div,
}

/// <summary>Activations that can run alone or fused into the end of another kernel.</summary>
public enum ActivationKind
{
    None,
    Relu,
    LeakyRelu,
    Clip,
    Sigmoid,
    HardSigmoid,
    HardSwish,
}

/// <summary>
/// An activation with its parameters: LeakyRelu uses <see cref="Alpha"/> as the slope; Clip uses
/// <see cref="Alpha"/> and <see cref="Beta"/> as min and max; HardSigmoid computes
/// max(0, min(1, Alpha·x + Beta)).
/// </summary>
public readonly record struct FusedActivation(ActivationKind Kind, float Alpha = 0f, float Beta = 0f)
{
    public static FusedActivation None => default;
}

/// <summary>Shapes and hyper-parameters of one 2-D convolution (NCHW).</summary>
public readonly record struct Conv2dGeometry(
    int Batch, int InChannels, int InHeight, int InWidth,
    int OutChannels, int KernelHeight, int KernelWidth,
    int StrideHeight, int StrideWidth,
    int PadTop, int PadLeft, int PadBottom, int PadRight,
    int DilationHeight, int DilationWidth, int Groups)
{
    public int OutHeight => (InHeight + PadTop + PadBottom - (DilationHeight * (KernelHeight - 1)) - 1) / StrideHeight + 1;

    public int OutWidth => (InWidth + PadLeft + PadRight - (DilationWidth * (KernelWidth - 1)) - 1) / StrideWidth + 1;
}

/// <summary>Shapes and hyper-parameters of one 2-D pooling window (NCHW).</summary>
public readonly record struct Pool2dGeometry(
    int Batch, int Channels, int InHeight, int InWidth,
    int KernelHeight, int KernelWidth, int StrideHeight, int StrideWidth,
    int PadTop, int PadLeft, int PadBottom, int PadRight,
    int DilationHeight, int DilationWidth, bool CeilMode)
{
    public int OutHeight => OutExtent(InHeight, KernelHeight, StrideHeight, PadTop, PadBottom, DilationHeight);

    public int OutWidth => OutExtent(InWidth, KernelWidth, StrideWidth, PadLeft, PadRight, DilationWidth);

    // As ONNX and PyTorch: with ceil_mode the last window may start in the padding on the end,
    // but never past it (it must start inside the input or the leading padding).
    private int OutExtent(int size, int kernel, int stride, int padBegin, int padEnd, int dilation)
    {
        var span = size + padBegin + padEnd - (dilation * (kernel - 1)) - 1;
        var outSize = (CeilMode ? (span + stride - 1) / stride : span / stride) + 1;
        if (CeilMode && (outSize - 1) * stride >= size + padBegin)
        {
            outSize--;
        }

        return outSize;
    }
}
