using ILGPU;
using ILGPU.Runtime;
using Salient.Engine.Cuda.Kernels;
using Salient.Engine.Kernels;

namespace Salient.Engine.Cuda;

/// <summary>
/// The compute primitives of <see cref="IKernelBackend"/> over device memory: the same operations,
/// shapes and semantics (see each method there), taking ILGPU <see cref="ArrayView{T}"/>s instead
/// of host spans, queued on one stream in order. Nothing here waits for the device except
/// <see cref="Synchronize"/>; scratch memory (the input gradient's column matrices) comes from a
/// <see cref="DeviceBufferPool"/> on the same stream. Kernels compile on first use.
/// An empty view (<c>default</c>) as bias means no bias.
/// </summary>
public sealed class GpuKernels : IDisposable
{
    // Column scratch of the input gradient is bounded; the batch is split to stay under it.
    private const long ScratchValues = 1L << 26;

    // CUDA's limit on the grid's z extent (batched GEMMs launch one z per image and group).
    private const int MaxGridZ = 65535;

    private readonly Accelerator _accelerator;
    private readonly DeviceBufferPool _pool;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _none;

    private readonly GemmLaunchers<DenseOperand, DenseOperand> _gemm;
    private readonly GemmLaunchers<DenseOperand, Im2ColOperand> _convGemm;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dGeometry, int, int, int, int, DeviceActivation>> _depthwise;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dGeometry, int, int>> _depthwiseBackwardData;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, Conv2dGeometry, int, int>> _col2Im;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, PoolShape>> _maxPool;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, PoolShape, int>> _avgPool;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolShape>> _maxPoolBackward;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolShape>> _maxPoolTangent;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, PoolShape, int>> _avgPoolBackward;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int>> _globalAvgPool;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, DeviceActivation>> _channelAffine;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, DeviceActivation>> _activate;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DeviceActivation, int>> _activateBackward;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, BroadcastIndex, int, DeviceActivation>> _binary;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, BroadcastIndex, BroadcastIndex, long>> _reduceToShape;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int>> _softmax;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, int, int, int, int, int>> _resize;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, float>> _fill;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, int>> _globalAvgPoolBackward;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>> _weightedSum;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, int, int>> _channelMaxAbs;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, int, float>> _map;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, int>> _accumulate;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, int, int, float>> _normalize;

    // Method arithmetic
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>> _channelWeights;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>> _channelProductSum;
    private readonly Lazy<Action<AcceleratorStream, KernelConfig, ArrayView<float>, int, int, float>> _truncatePositives;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>> _addScaled;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ulong, ulong, float, float>> _fillNormal;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>> _signTimes;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float>> _signSplitRatio;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>> _signSplitLinearBackward;
    private readonly Lazy<Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>> _spliceByRank;

    /// <param name="accelerator">The device (see <see cref="GpuDevice"/>).</param>
    /// <param name="stream">The stream every operation is queued on; the accelerator's default stream when null.</param>
    public GpuKernels(Accelerator accelerator, AcceleratorStream? stream = null)
    {
        _accelerator = accelerator;
        Stream = stream ?? accelerator.DefaultStream;
        _pool = new DeviceBufferPool(accelerator);
        _none = accelerator.Allocate1D<float>(1);
        var a = accelerator;
        _gemm = new(a);
        _convGemm = new(a);
        _depthwise = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dGeometry, int, int, int, int, DeviceActivation>(DepthwiseConv2dKernel.Run));
        _depthwiseBackwardData = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, Conv2dGeometry, int, int>(DepthwiseConv2dBackwardDataKernel.Run));
        _col2Im = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, Conv2dGeometry, int, int>(Col2ImKernel.Run));
        _maxPool = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, PoolShape>(MaxPool2dKernel.Run));
        _avgPool = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, PoolShape, int>(AvgPool2dKernel.Run));
        _maxPoolBackward = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolShape>(MaxPool2dBackwardKernel.Run));
        _maxPoolTangent = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, PoolShape>(MaxPool2dTangentKernel.Run));
        _avgPoolBackward = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, PoolShape, int>(AvgPool2dBackwardKernel.Run));
        _globalAvgPool = new(() => a.LoadKernel<ArrayView<float>, ArrayView<float>, int>(GlobalAvgPoolKernel.Run));
        _channelAffine = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, DeviceActivation>(ChannelAffineKernel.Run));
        _activate = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, DeviceActivation>(ActivationKernel.Run));
        _activateBackward = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, DeviceActivation, int>(ActivationBackwardKernel.Run));
        _binary = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, BroadcastIndex, int, DeviceActivation>(BinaryKernel.Run));
        _reduceToShape = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, BroadcastIndex, BroadcastIndex, long>(ReduceToShapeKernel.Run));
        _softmax = new(() => a.LoadKernel<ArrayView<float>, ArrayView<float>, int>(SoftmaxKernel.Run));
        _resize = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int, int, int>(ResizeBilinearKernel.Run));
        _fill = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, float>(FillKernel.Run));
        _globalAvgPoolBackward = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(GlobalAvgPoolBackwardKernel.Run));
        _weightedSum = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(WeightedSumKernel.Run));
        _channelMaxAbs = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(ChannelMaxAbsKernel.Run));
        _map = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, int, float>(MapKernel.Run));
        _accumulate = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(AccumulateKernel.Run));
        _normalize = new(() => a.LoadKernel<ArrayView<float>, int, int, float>(NormalizeKernel.Run));

        // Method arithmetic
        _channelWeights = new(() => a.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(ChannelWeightsKernel.Run));
        _channelProductSum = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(ChannelProductSumKernel.Run));
        _truncatePositives = new(() => a.LoadKernel<ArrayView<float>, int, int, float>(TruncatePositivesKernel.Run));
        _addScaled = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(AddScaledKernel.Run));
        _fillNormal = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ulong, ulong, float, float>(FillNormalKernel.Run));
        _signTimes = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(SignTimesKernel.Run));
        _signSplitRatio = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float>(SignSplitRatioKernel.Run));
        _signSplitLinearBackward = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(SignSplitLinearBackwardKernel.Run));
        _spliceByRank = new(() => a.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(SpliceByRankKernel.Run));
    }

    /// <summary>The stream the operations are queued on.</summary>
    public AcceleratorStream Stream { get; }

    /// <summary>The tiles of the GEMMs and implicit-GEMM convolutions: by shape unless a test or benchmark fixes them.</summary>
    public GemmTiles GemmTiles { get; init; } = GemmTiles.ByShape;

    /// <summary>Scratch and staging memory on this stream; callers may rent their own buffers from it.</summary>
    public DeviceBufferPool Pool => _pool;

    /// <summary>Waits until everything queued so far has run.</summary>
    public void Synchronize() => Stream.Synchronize();

    /// <inheritdoc cref="IKernelBackend.Gemm"/>
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ArrayView<float> a, int lda, ArrayView<float> b, int ldb, float beta, ArrayView<float> c, int ldc)
    {
        Checks.Gemm(transA, transB, m, n, k, lda, a.Length, ldb, b.Length, ldc, c.Length);
        if (m == 0 || n == 0)
        {
            return;
        }

        var shape = new GemmShape(m, n, k);
        var epilogue = new GemmEpilogue(alpha, beta, false, BatchMap.Strided(0), default, ldc, BatchMap.Strided(0));
        _gemm.Launch(Stream, GemmTiles, 1, Ok(a), Ok(b), c, _none.View,
            new DenseOperand(Ok(a), transA, lda, BatchMap.Strided(0)), new DenseOperand(Ok(b), transB, ldb, BatchMap.Strided(0)), shape, epilogue);
    }

    /// <inheritdoc cref="IKernelBackend.Conv2d"/>
    public void Conv2d(in Conv2dGeometry g, ArrayView<float> input, ArrayView<float> weight, ArrayView<float> bias,
        ArrayView<float> output, in FusedActivation activation, bool accumulate = false)
    {
        Checks.Conv(g, input.Length, weight.Length, bias.Length, output.Length);
        if (g.Batch == 0)
        {
            return;
        }

        var act = new DeviceActivation(activation);
        var hasBias = bias.Length != 0;
        if (IsDepthwise(g))
        {
            _depthwise.Value(Stream, (int)output.Length, input, weight, Ok(bias), output, g, g.OutHeight, g.OutWidth, hasBias ? 1 : 0, accumulate ? 1 : 0, act);
            return;
        }

        int groups = g.Groups, ocg = g.OutChannels / groups, pixels = g.OutHeight * g.OutWidth;
        var depth = g.InChannels / groups * g.KernelHeight * g.KernelWidth;
        var shape = new GemmShape(ocg, pixels, depth);
        var weights = new DenseOperand(weight, false, depth, new BatchMap(groups, 0, (long)ocg * depth));
        var epilogue = new GemmEpilogue(1f, accumulate ? 1f : 0f, hasBias, new BatchMap(groups, 0, ocg), act, pixels,
            new BatchMap(groups, (long)g.OutChannels * pixels, (long)ocg * pixels));
        long inImage = (long)g.InChannels * g.InHeight * g.InWidth, outImage = (long)g.OutChannels * pixels;
        var images = Math.Max(1, MaxGridZ / groups);
        for (var n0 = 0; n0 < g.Batch; n0 += images)
        {
            var count = Math.Min(images, g.Batch - n0);
            var chunk = g with { Batch = count };
            _convGemm.Launch(Stream, GemmTiles, count * groups, weight, input.SubView(n0 * inImage, count * inImage),
                output.SubView(n0 * outImage, count * outImage), Ok(bias), weights, new Im2ColOperand(chunk), shape, epilogue);
        }
    }

    /// <inheritdoc cref="IKernelBackend.Conv2dBackwardData"/>
    public void Conv2dBackwardData(in Conv2dGeometry g, ArrayView<float> weight, ArrayView<float> outputGradient, ArrayView<float> inputGradient)
    {
        Checks.Conv(g, inputGradient.Length, weight.Length, 0, outputGradient.Length);
        if (g.Batch == 0)
        {
            return;
        }

        if (IsDepthwise(g))
        {
            _depthwiseBackwardData.Value(Stream, (int)inputGradient.Length, weight, outputGradient, inputGradient, g, g.OutHeight, g.OutWidth);
            return;
        }

        // Per (image, group): columns = W_gᵀ · dY_g, [C/g·KH·KW, OH·OW], then folded into dX.
        int groups = g.Groups, ocg = g.OutChannels / groups, pixels = g.OutHeight * g.OutWidth;
        var depth = g.InChannels / groups * g.KernelHeight * g.KernelWidth;
        var shape = new GemmShape(depth, pixels, ocg);
        var weights = new DenseOperand(weight, true, depth, new BatchMap(groups, 0, (long)ocg * depth));
        var gradientBatch = new BatchMap(groups, (long)g.OutChannels * pixels, (long)ocg * pixels);
        var matrix = (long)depth * pixels;
        var epilogue = new GemmEpilogue(1f, 0f, false, BatchMap.Strided(0), default, pixels, BatchMap.Strided(matrix));
        long inImage = (long)g.InChannels * g.InHeight * g.InWidth, outImage = (long)g.OutChannels * pixels;
        var images = (int)Math.Clamp(ScratchValues / (matrix * groups), 1, Math.Max(1, MaxGridZ / groups));
        images = Math.Min(images, g.Batch);
        using var columns = _pool.Rent(images * groups * matrix);
        for (var n0 = 0; n0 < g.Batch; n0 += images)
        {
            var count = Math.Min(images, g.Batch - n0);
            var gradients = outputGradient.SubView(n0 * outImage, count * outImage);
            _gemm.Launch(Stream, GemmTiles, count * groups, weight, gradients, columns.View, _none.View,
                weights, new DenseOperand(gradients, false, pixels, gradientBatch), shape, epilogue);
            _col2Im.Value(Stream, (int)(count * inImage), columns.View, inputGradient.SubView(n0 * inImage, count * inImage), g with { Batch = count },
                g.OutHeight, g.OutWidth);
        }
    }

    /// <inheritdoc cref="IKernelBackend.MaxPool2d"/>
    public void MaxPool2d(in Pool2dGeometry g, ArrayView<float> input, ArrayView<float> output)
    {
        Checks.Pool(g, input.Length, output.Length);
        if (output.Length != 0)
        {
            _maxPool.Value(Stream, (int)output.Length, input, output, new PoolShape(g));
        }
    }

    /// <inheritdoc cref="IKernelBackend.AvgPool2d"/>
    public void AvgPool2d(in Pool2dGeometry g, bool countIncludePad, ArrayView<float> input, ArrayView<float> output)
    {
        Checks.Pool(g, input.Length, output.Length);
        if (output.Length != 0)
        {
            _avgPool.Value(Stream, (int)output.Length, input, output, new PoolShape(g), countIncludePad ? 1 : 0);
        }
    }

    /// <inheritdoc cref="IKernelBackend.MaxPool2dBackward"/>
    /// <remarks>Unlike the CPU backend, an output not found in its window (not this input's forward output) is not reported: its gradient is dropped.</remarks>
    public void MaxPool2dBackward(in Pool2dGeometry g, ArrayView<float> input, ArrayView<float> output, ArrayView<float> outputGradient,
        ArrayView<float> inputGradient)
    {
        Checks.Pool(g, input.Length, outputGradient.Length);
        if (inputGradient.Length != input.Length || output.Length != outputGradient.Length)
        {
            throw new ArgumentException($"Max pooling backward got {input.Length} inputs, {output.Length} outputs, {outputGradient.Length} gradients and room for {inputGradient.Length}.");
        }

        if (inputGradient.Length != 0)
        {
            _maxPoolBackward.Value(Stream, (int)inputGradient.Length, input, output, outputGradient, inputGradient, new PoolShape(g));
        }
    }

    /// <inheritdoc cref="IKernelBackend.MaxPool2dTangent"/>
    /// <remarks>Unlike the CPU backend, an output not found in its window (not this input's forward output) is not reported: its tangent is zero.</remarks>
    public void MaxPool2dTangent(in Pool2dGeometry g, ArrayView<float> input, ArrayView<float> output, ArrayView<float> inputTangent,
        ArrayView<float> outputTangent)
    {
        Checks.Pool(g, input.Length, outputTangent.Length);
        if (inputTangent.Length != input.Length || output.Length != outputTangent.Length)
        {
            throw new ArgumentException($"Max pooling's tangent got {input.Length} inputs, {output.Length} outputs, {inputTangent.Length} input tangents and room for {outputTangent.Length}.");
        }

        if (outputTangent.Length != 0)
        {
            _maxPoolTangent.Value(Stream, (int)outputTangent.Length, input, output, inputTangent, outputTangent, new PoolShape(g));
        }
    }

    /// <inheritdoc cref="IKernelBackend.AvgPool2dBackward"/>
    public void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, ArrayView<float> outputGradient, ArrayView<float> inputGradient)
    {
        Checks.Pool(g, inputGradient.Length, outputGradient.Length);
        if (inputGradient.Length != 0)
        {
            _avgPoolBackward.Value(Stream, (int)inputGradient.Length, outputGradient, inputGradient, new PoolShape(g), countIncludePad ? 1 : 0);
        }
    }

    /// <inheritdoc cref="IKernelBackend.GlobalAvgPool"/>
    public void GlobalAvgPool(int planes, int planeSize, ArrayView<float> input, ArrayView<float> output)
    {
        if (planes < 0 || planeSize <= 0 || input.Length != (long)planes * planeSize || output.Length != planes)
        {
            throw new ArgumentException($"GlobalAvgPool of {planes} planes of {planeSize} got {input.Length} inputs and {output.Length} outputs.");
        }

        if (planes != 0)
        {
            _globalAvgPool.Value(Stream, new KernelConfig(planes, GroupReduce.Size), input, output, planeSize);
        }
    }

    /// <inheritdoc cref="IKernelBackend.ChannelAffine"/>
    public void ChannelAffine(int n, int channels, int spatial, ArrayView<float> input, ArrayView<float> scale,
        ArrayView<float> shift, ArrayView<float> output, in FusedActivation activation)
    {
        var length = (long)n * channels * spatial;
        if (n < 0 || channels < 0 || spatial < 0 || input.Length != length || output.Length != length
            || scale.Length != channels || shift.Length != channels)
        {
            throw new ArgumentException($"ChannelAffine over [{n},{channels},{spatial}] got {input.Length} inputs, {output.Length} outputs, {scale.Length} scales, {shift.Length} shifts.");
        }

        if (length != 0)
        {
            _channelAffine.Value(Stream, (int)length, input, output, scale, shift, channels, spatial, new DeviceActivation(activation));
        }
    }

    /// <inheritdoc cref="IKernelBackend.Activate"/>
    public void Activate(in FusedActivation activation, ArrayView<float> input, ArrayView<float> output)
    {
        if (output.Length != input.Length)
        {
            throw new ArgumentException($"Output holds {output.Length} values, the input has {input.Length}.", nameof(output));
        }

        if (input.Length != 0)
        {
            _activate.Value(Stream, (int)input.Length, input, output, new DeviceActivation(activation));
        }
    }

    /// <inheritdoc cref="IKernelBackend.ActivateBackward"/>
    /// <remarks><see cref="ActivationGradientRule"/> picks the activation's own gradient or guided backpropagation's or deconvolution's override of it.</remarks>
    public void ActivateBackward(in FusedActivation activation, ArrayView<float> input, ArrayView<float> output,
        ArrayView<float> outputGradient, ArrayView<float> inputGradient, ActivationGradientRule rule = ActivationGradientRule.Standard)
    {
        if (inputGradient.Length != outputGradient.Length || input.Length != outputGradient.Length || output.Length != outputGradient.Length)
        {
            throw new ArgumentException($"Activation backward got {input.Length} inputs, {output.Length} outputs, {outputGradient.Length} gradients and room for {inputGradient.Length}.");
        }

        if (!Enum.IsDefined(rule))
        {
            throw new ArgumentOutOfRangeException(nameof(rule), rule, "Unknown activation gradient rule.");
        }

        if (inputGradient.Length != 0)
        {
            _activateBackward.Value(Stream, (int)inputGradient.Length, input, output, outputGradient, inputGradient, new DeviceActivation(activation), (int)rule);
        }
    }

    /// <inheritdoc cref="IKernelBackend.Binary"/>
    public void Binary(BinaryOp op, ArrayView<float> a, ReadOnlySpan<int> aShape, ArrayView<float> b, ReadOnlySpan<int> bShape,
        ArrayView<float> output, ReadOnlySpan<int> outShape, in FusedActivation activation = default)
    {
        if (!Enum.IsDefined(op))
        {
            throw new NotSupportedException($"Binary op {op} is not supported.");
        }

        var index = Broadcasting.Binary(aShape, bShape, outShape);
        if (a.Length != Broadcasting.Length(aShape) || b.Length != Broadcasting.Length(bShape) || output.Length != Broadcasting.Length(outShape))
        {
            throw new ArgumentException("Binary operand lengths do not match their shapes.");
        }

        if (output.Length != 0)
        {
            _binary.Value(Stream, (int)output.Length, a, b, output, index, (int)op, new DeviceActivation(activation));
        }
    }

    /// <inheritdoc cref="IKernelBackend.ReduceToShape"/>
    public void ReduceToShape(ArrayView<float> input, ReadOnlySpan<int> inShape, ArrayView<float> output, ReadOnlySpan<int> outShape)
    {
        var (kept, summed, count) = Broadcasting.Reduction(inShape, outShape);
        if (input.Length != Broadcasting.Length(inShape) || output.Length != Broadcasting.Length(outShape))
        {
            throw new ArgumentException($"Reducing [{Broadcasting.Format(inShape)}] to [{Broadcasting.Format(outShape)}] got {input.Length} inputs and room for {output.Length}.");
        }

        if (output.Length != 0)
        {
            _reduceToShape.Value(Stream, (int)output.Length, input, output, kept, summed, count);
        }
    }

    /// <inheritdoc cref="IKernelBackend.Softmax"/>
    public void Softmax(int rows, int cols, ArrayView<float> input, ArrayView<float> output)
    {
        if (rows < 0 || cols <= 0 || input.Length != (long)rows * cols || output.Length != input.Length)
        {
            throw new ArgumentException($"Softmax of {rows}×{cols} got {input.Length} inputs and {output.Length} outputs.");
        }

        if (rows != 0)
        {
            _softmax.Value(Stream, new KernelConfig(rows, GroupReduce.Size), input, output, cols);
        }
    }

    /// <inheritdoc cref="IKernelBackend.ResizeBilinear"/>
    public void ResizeBilinear(int planes, int inHeight, int inWidth, ArrayView<float> input, int outHeight, int outWidth,
        ArrayView<float> output, bool alignCorners)
    {
        if (planes < 0 || inHeight <= 0 || inWidth <= 0 || outHeight <= 0 || outWidth <= 0
            || input.Length != (long)planes * inHeight * inWidth || output.Length != (long)planes * outHeight * outWidth)
        {
            throw new ArgumentException($"Resize of {planes} planes {inHeight}x{inWidth} -> {outHeight}x{outWidth} got {input.Length} inputs and room for {output.Length}.");
        }

        if (output.Length != 0)
        {
            _resize.Value(Stream, (int)output.Length, input, output, inHeight, inWidth, outHeight, outWidth, alignCorners ? 1 : 0);
        }
    }

    /// <inheritdoc cref="IKernelBackend.Fill"/>
    public void Fill(ArrayView<float> target, float value)
    {
        if (target.Length != 0)
        {
            _fill.Value(Stream, (int)target.Length, target, value);
        }
    }

    /// <inheritdoc cref="IKernelBackend.Copy"/>
    public void Copy(ArrayView<float> source, ArrayView<float> destination)
    {
        if (source.Length != destination.Length)
        {
            throw new ArgumentException($"Copying {source.Length} values into {destination.Length}.", nameof(destination));
        }

        if (source.Length != 0)
        {
            destination.CopyFrom(Stream, source);
        }
    }

    /// <inheritdoc cref="IKernelBackend.GlobalAvgPoolBackward"/>
    public void GlobalAvgPoolBackward(int planes, int planeSize, ArrayView<float> outputGradient, ArrayView<float> inputGradient)
    {
        if (planes < 0 || planeSize <= 0 || inputGradient.Length != (long)planes * planeSize || outputGradient.Length != planes)
        {
            throw new ArgumentException($"GlobalAvgPool backward of {planes} planes of {planeSize} got {outputGradient.Length} gradients and room for {inputGradient.Length}.");
        }

        if (inputGradient.Length != 0)
        {
            _globalAvgPoolBackward.Value(Stream, (int)inputGradient.Length, outputGradient, inputGradient, planeSize);
        }
    }

    /// <inheritdoc cref="IKernelBackend.WeightedSum"/>
    public void WeightedSum(int channels, int plane, ArrayView<float> maps, ArrayView<float> weights, ArrayView<float> output)
    {
        CheckPlanes(channels, plane, maps.Length, weights.Length, channels, output.Length, plane);
        if (plane != 0)
        {
            _weightedSum.Value(Stream, plane, Ok(maps), Ok(weights), output, channels, plane);
        }
    }

    /// <inheritdoc cref="IKernelBackend.PlaneMeans"/>
    public void PlaneMeans(int channels, int plane, ArrayView<float> input, ArrayView<float> output) => GlobalAvgPool(channels, plane, input, output);

    /// <inheritdoc cref="IKernelBackend.ChannelMaxAbs"/>
    public void ChannelMaxAbs(int channels, int plane, ArrayView<float> input, ArrayView<float> output)
    {
        CheckPlanes(channels, plane, input.Length, 0, 0, output.Length, plane);
        if (plane != 0)
        {
            _channelMaxAbs.Value(Stream, plane, Ok(input), output, channels, plane);
        }
    }

    /// <inheritdoc cref="IKernelBackend.Map"/>
    public void Map(MapFunction map, ArrayView<float> input, ArrayView<float> output)
    {
        if (!Enum.IsDefined(map.Kind))
        {
            throw new ArgumentOutOfRangeException(nameof(map), map.Kind, "Unknown map function.");
        }

        if (output.Length != input.Length)
        {
            throw new ArgumentException($"Output holds {output.Length} values, the input has {input.Length}.", nameof(output));
        }

        if (input.Length != 0)
        {
            _map.Value(Stream, (int)input.Length, input, output, (int)map.Kind, map.Parameter);
        }
    }

    /// <inheritdoc cref="IKernelBackend.Normalize"/>
    public void Normalize(MapNormalization normalization, float epsilon, int planes, ArrayView<float> map)
    {
        if (!Enum.IsDefined(normalization))
        {
            throw new ArgumentOutOfRangeException(nameof(normalization), normalization, "Unknown normalisation.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(planes, 1);
        if (map.Length % planes != 0)
        {
            throw new ArgumentException($"{map.Length} values do not split into {planes} planes.", nameof(map));
        }

        var size = (int)(map.Length / planes);
        if (size != 0)
        {
            _normalize.Value(Stream, new KernelConfig(planes, GroupReduce.Size), map, size, normalization == MapNormalization.MinMax ? 1 : 0, epsilon);
        }
    }

    /// <inheritdoc cref="IKernelBackend.Accumulate"/>
    public void Accumulate(MapFusion fusion, ArrayView<float> addend, ArrayView<float> accumulator)
    {
        if (!Enum.IsDefined(fusion))
        {
            throw new ArgumentOutOfRangeException(nameof(fusion), fusion, "Unknown fusion.");
        }

        if (addend.Length != accumulator.Length)
        {
            throw new ArgumentException($"Accumulating {addend.Length} values into {accumulator.Length}.", nameof(addend));
        }

        if (addend.Length != 0)
        {
            _accumulate.Value(Stream, (int)addend.Length, addend, accumulator, (int)fusion);
        }
    }

    // Method arithmetic

    /// <inheritdoc cref="IKernelBackend.ChannelWeights"/>
    public void ChannelWeights(ChannelWeighting weighting, int channels, int plane, ArrayView<float> activations, ArrayView<float> gradients, ArrayView<float> weights)
    {
        if (!Enum.IsDefined(weighting))
        {
            throw new ArgumentOutOfRangeException(nameof(weighting), weighting, "Unknown channel weighting.");
        }

        CheckChannelPairs(channels, plane, activations.Length, gradients.Length, weights.Length, channels);
        if (channels != 0)
        {
            _channelWeights.Value(Stream, new KernelConfig(channels, GroupReduce.Size), Ok(activations), Ok(gradients), weights, plane, (int)weighting);
        }
    }

    /// <inheritdoc cref="IKernelBackend.ChannelProductSum"/>
    public void ChannelProductSum(ChannelProduct product, int channels, int plane, ArrayView<float> activations, ArrayView<float> gradients, ArrayView<float> output)
    {
        if (!Enum.IsDefined(product))
        {
            throw new ArgumentOutOfRangeException(nameof(product), product, "Unknown channel product.");
        }

        CheckChannelPairs(channels, plane, activations.Length, gradients.Length, output.Length, plane);
        if (plane != 0)
        {
            _channelProductSum.Value(Stream, plane, Ok(activations), Ok(gradients), output, channels, plane, (int)product);
        }
    }

    /// <inheritdoc cref="IKernelBackend.TruncatePositives"/>
    public void TruncatePositives(QuantileTruncation truncation, float quantile, int segments, ArrayView<float> values)
    {
        if (!Enum.IsDefined(truncation))
        {
            throw new ArgumentOutOfRangeException(nameof(truncation), truncation, "Unknown truncation.");
        }

        if (!(quantile >= 0f && quantile <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(quantile), quantile, "The quantile must be in [0, 1].");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(segments, 1);
        if (values.Length % segments != 0)
        {
            throw new ArgumentException($"{values.Length} values do not split into {segments} segments.", nameof(segments));
        }

        var length = (int)(values.Length / segments);
        if (length != 0)
        {
            _truncatePositives.Value(Stream, new KernelConfig(segments, GroupReduce.Size), values, length, truncation == QuantileTruncation.Ceil ? 1 : 0, quantile);
        }
    }

    /// <inheritdoc cref="IKernelBackend.AddScaled"/>
    public void AddScaled(ArrayView<float> pattern, ArrayView<float> scales, ArrayView<float> target)
    {
        if (target.Length != pattern.Length * scales.Length)
        {
            throw new ArgumentException($"Adding a pattern of {pattern.Length} values at {scales.Length} scales into {target.Length} values.", nameof(target));
        }

        if (target.Length != 0)
        {
            _addScaled.Value(Stream, (int)target.Length, pattern, scales, target, (int)pattern.Length);
        }
    }

    /// <inheritdoc cref="IKernelBackend.FillNormal"/>
    public void FillNormal(ulong seed, ulong stream, float mean, float deviation, ArrayView<float> destination)
    {
        if (destination.Length != 0)
        {
            _fillNormal.Value(Stream, (int)destination.Length, destination, seed, stream, mean, deviation);
        }
    }

    /// <inheritdoc cref="IKernelBackend.SignTimes"/>
    public void SignTimes(int images, int channels, int plane, ArrayView<float> x, ArrayView<float> map, ArrayView<float> output)
    {
        if (images < 0 || channels < 0 || plane < 0 || x.Length != (long)images * channels * plane || output.Length != x.Length || map.Length != (long)images * plane)
        {
            throw new ArgumentException($"SignTimes over [{images},{channels},{plane}] got {x.Length} values, a map of {map.Length} and room for {output.Length}.");
        }

        if (output.Length != 0)
        {
            _signTimes.Value(Stream, (int)output.Length, x, map, output, channels, plane);
        }
    }

    /// <inheritdoc cref="IKernelBackend.SignSplitLinearBackward"/>
    public void SignSplitLinearBackward(int rows, int inputs, int outputs, bool weightsTransposed, float gamma, ArrayView<float> input, ArrayView<float> weights,
        ArrayView<float> outputGradient, ArrayView<float> inputGradient)
    {
        if (rows < 0 || inputs < 0 || outputs < 0 || input.Length != (long)rows * inputs || weights.Length != (long)inputs * outputs
            || outputGradient.Length != (long)rows * outputs || inputGradient.Length != input.Length)
        {
            throw new ArgumentException($"A linear backward of {rows} rows, {inputs} inputs and {outputs} outputs got {input.Length} inputs, {weights.Length} weights, "
                + $"{outputGradient.Length} gradients and room for {inputGradient.Length}.");
        }

        if (inputGradient.Length == 0)
        {
            return;
        }

        var transposed = weightsTransposed ? 1 : 0;
        using var beta = _pool.Rent(Math.Max(1L, (long)rows * outputs));
        if (outputGradient.Length != 0)
        {
            _signSplitRatio.Value(Stream, (int)outputGradient.Length, input, weights, outputGradient, beta.View, inputs, outputs, transposed, gamma);
        }

        _signSplitLinearBackward.Value(Stream, (int)inputGradient.Length, Ok(weights), Ok(outputGradient), beta.View, inputGradient, inputs, outputs, transposed);
    }

    /// <inheritdoc cref="IKernelBackend.SpliceByRank"/>
    public void SpliceByRank(int channels, int plane, ArrayView<float> source, ArrayView<float> replacement, ArrayView<float> ranks, ArrayView<float> limits,
        ArrayView<float> output)
    {
        var size = (long)channels * plane;
        if (channels < 0 || plane < 0 || source.Length != size || replacement.Length != size || ranks.Length != plane || output.Length != size * limits.Length)
        {
            throw new ArgumentException($"SpliceByRank of {channels} planes of {plane} got {source.Length} and {replacement.Length} values, {ranks.Length} ranks, "
                + $"{limits.Length} limits and room for {output.Length}.");
        }

        if (output.Length != 0)
        {
            _spliceByRank.Value(Stream, (int)output.Length, source, replacement, ranks, limits, output, channels, plane);
        }
    }

    private static void CheckChannelPairs(int channels, int plane, long activations, long gradients, long output, long expectedOutput)
    {
        if (channels < 0 || plane < 0 || activations != (long)channels * plane || gradients != activations || output != expectedOutput)
        {
            throw new ArgumentException($"A channel operation over {channels} planes of {plane} got {activations} activations, {gradients} gradients and room for {output}.");
        }
    }

    // Data-movement and normalisation operators: their kernels load on first use.

    private Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, BroadcastIndex, long, long, int>? _stridedCopy;
    private Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, float>? _indexedGather;
    private Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>>? _indexedScatterAdd;
    private Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int, int>? _reduceRows;
    private Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>? _reduceRowsBackward;
    private Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, int>? _logSoftmax;
    private Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? _softmaxBackward;
    private Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RowNormalization>? _normalizeRows;
    private Action<AcceleratorStream, KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RowNormalization>? _normalizeRowsBackward;
    private Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, int>? _unary;
    private Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? _unaryBackward;
    private Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? _select;
    private Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? _compare;
    private Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? _pow;
    private Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? _powBackward;
    private Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ResampleShape>? _resample;
    private Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ResampleShape>? _resampleBackward;
    private Action<AcceleratorStream, Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, BroadcastIndex, BroadcastIndex, long, int>? _contract;

    /// <inheritdoc cref="IKernelBackend.StridedCopy"/>
    public void StridedCopy(ReadOnlySpan<int> shape, ArrayView<float> source, int sourceOffset, ReadOnlySpan<int> sourceStrides,
        ArrayView<float> destination, int destinationOffset, ReadOnlySpan<int> destinationStrides, bool accumulate)
    {
        var count = DataMovementChecks.StridedCopy(shape, source.Length, sourceOffset, sourceStrides, destination.Length, destinationOffset, destinationStrides);
        if (count > int.MaxValue)
        {
            throw new ArgumentException($"A strided copy of {count} values is more than one launch takes; split it.");
        }

        if (count != 0)
        {
            var index = Broadcasting.Strided(shape, sourceStrides, destinationStrides);
            var kernel = LazyInitializer.EnsureInitialized(ref _stridedCopy, () =>
                _accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, BroadcastIndex, long, long, int>(StridedCopyKernel.Run));
            kernel(Stream, (int)count, source, destination, index, sourceOffset, destinationOffset, accumulate ? 1 : 0);
        }
    }

    /// <inheritdoc cref="IKernelBackend.IndexedGather"/>
    /// <remarks>The indices are on the device already, checked against the input when they were uploaded.</remarks>
    public void IndexedGather(ArrayView<int> indices, float fill, ArrayView<float> input, ArrayView<float> output)
    {
        if (indices.Length != output.Length)
        {
            throw new ArgumentException($"An index map of {indices.Length} entries got {output.Length} outputs.");
        }

        if (output.Length != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _indexedGather, () =>
                _accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, float>(IndexedGatherKernel.Run));
            kernel(Stream, (int)output.Length, Ok(input), output, indices, fill);
        }
    }

    /// <inheritdoc cref="IKernelBackend.IndexedScatterAdd"/>
    /// <remarks>The indices are on the device already, checked against the target when they were uploaded.</remarks>
    public void IndexedScatterAdd(ArrayView<int> indices, ArrayView<float> gradient, ArrayView<float> target)
    {
        if (indices.Length != gradient.Length)
        {
            throw new ArgumentException($"An index map of {indices.Length} entries got {gradient.Length} gradients.");
        }

        if (gradient.Length != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _indexedScatterAdd, () =>
                _accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>>(IndexedScatterAddKernel.Run));
            kernel(Stream, (int)gradient.Length, gradient, Ok(target), indices);
        }
    }

    /// <inheritdoc cref="IKernelBackend.ReduceRows"/>
    public void ReduceRows(RowReduction reduction, int rows, int cols, ArrayView<float> input, ArrayView<float> output)
    {
        Defined(reduction);
        DataMovementChecks.Rows("Reduction", rows, cols, input.Length, output.Length, rows);
        if (rows != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _reduceRows, () =>
                _accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int, int>(RowReduceKernel.Run));
            kernel(Stream, new KernelConfig(rows, GroupReduce.Size), input, output, cols, (int)reduction);
        }
    }

    /// <inheritdoc cref="IKernelBackend.ReduceRowsBackward"/>
    public void ReduceRowsBackward(RowReduction reduction, bool firstOnly, int rows, int cols, ArrayView<float> input, ArrayView<float> output,
        ArrayView<float> outputGradient, ArrayView<float> inputGradient)
    {
        Defined(reduction);
        DataMovementChecks.Rows("Reduction backward", rows, cols, inputGradient.Length, outputGradient.Length, rows);
        var extreme = reduction is RowReduction.Max or RowReduction.Min;
        if (extreme && (input.Length != inputGradient.Length || output.Length != rows))
        {
            throw new ArgumentException($"The backward of a {reduction} over {rows}×{cols} needs its input and output, got {input.Length} and {output.Length}.");
        }

        if (rows != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _reduceRowsBackward, () =>
                _accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(RowReduceBackwardKernel.Run));
            kernel(Stream, new KernelConfig(rows, GroupReduce.Size), Ok(input), Ok(output), outputGradient, inputGradient, cols, (int)reduction, firstOnly ? 1 : 0);
        }
    }

    /// <inheritdoc cref="IKernelBackend.LogSoftmax"/>
    public void LogSoftmax(int rows, int cols, ArrayView<float> input, ArrayView<float> output)
    {
        DataMovementChecks.Rows("LogSoftmax", rows, cols, input.Length, output.Length, input.Length);
        if (rows != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _logSoftmax, () =>
                _accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, int>(LogSoftmaxKernel.Run));
            kernel(Stream, new KernelConfig(rows, GroupReduce.Size), input, output, cols);
        }
    }

    /// <inheritdoc cref="IKernelBackend.SoftmaxBackward"/>
    public void SoftmaxBackward(bool log, int rows, int cols, ArrayView<float> output, ArrayView<float> outputGradient, ArrayView<float> inputGradient)
    {
        DataMovementChecks.Rows("Softmax backward", rows, cols, output.Length, inputGradient.Length, output.Length);
        if (outputGradient.Length != output.Length)
        {
            throw new ArgumentException($"Softmax backward got {outputGradient.Length} gradients for {output.Length} outputs.");
        }

        if (rows != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _softmaxBackward, () =>
                _accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(SoftmaxBackwardKernel.Run));
            kernel(Stream, new KernelConfig(rows, GroupReduce.Size), output, outputGradient, inputGradient, cols, log ? 1 : 0);
        }
    }

    /// <inheritdoc cref="IKernelBackend.NormalizeRows"/>
    public void NormalizeRows(RowAffine affine, int rows, int cols, float epsilon, ArrayView<float> input, ArrayView<float> scale, ArrayView<float> bias,
        ArrayView<float> output)
    {
        DataMovementChecks.Rows("Normalisation", rows, cols, input.Length, output.Length, input.Length);
        DataMovementChecks.Affine(affine, rows, cols, (int)scale.Length, (int)bias.Length);
        if (rows != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _normalizeRows, () =>
                _accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RowNormalization>(NormalizeRowsKernel.Run));
            kernel(Stream, new KernelConfig(rows, GroupReduce.Size), input, Ok(scale), Ok(bias), output, Normalization(affine, cols, epsilon, scale, bias));
        }
    }

    /// <summary>The input gradient of <see cref="NormalizeRows"/> (<see cref="IKernelBackend.NormalizeRowsBackward"/> without the parameters' gradients, which are training's).</summary>
    public void NormalizeRowsBackward(RowAffine affine, int rows, int cols, float epsilon, ArrayView<float> input, ArrayView<float> scale,
        ArrayView<float> outputGradient, ArrayView<float> inputGradient)
    {
        DataMovementChecks.Rows("Normalisation backward", rows, cols, input.Length, outputGradient.Length, input.Length);
        DataMovementChecks.Affine(affine, rows, cols, (int)scale.Length, 0);
        if (inputGradient.Length != input.Length)
        {
            throw new ArgumentException($"Normalisation backward of {rows}×{cols} got room for {inputGradient.Length} input gradients.");
        }

        if (rows != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _normalizeRowsBackward, () =>
                _accelerator.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, RowNormalization>(NormalizeRowsBackwardKernel.Run));
            kernel(Stream, new KernelConfig(rows, GroupReduce.Size), input, Ok(scale), outputGradient, inputGradient, Normalization(affine, cols, epsilon, scale, default));
        }
    }

    /// <inheritdoc cref="IKernelBackend.Unary"/>
    public void Unary(UnaryFunction unary, ArrayView<float> input, ArrayView<float> output)
    {
        Defined(unary);
        if (output.Length != input.Length)
        {
            throw new ArgumentException($"Output holds {output.Length} values, the input has {input.Length}.", nameof(output));
        }

        if (input.Length != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _unary, () =>
                _accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(UnaryKernel.Run));
            kernel(Stream, (int)input.Length, input, output, (int)unary);
        }
    }

    /// <inheritdoc cref="IKernelBackend.UnaryBackward"/>
    public void UnaryBackward(UnaryFunction unary, ArrayView<float> input, ArrayView<float> output, ArrayView<float> outputGradient, ArrayView<float> inputGradient)
    {
        Defined(unary);
        var reads = unary is UnaryFunction.Erf or UnaryFunction.Log or UnaryFunction.Abs or UnaryFunction.Gelu ? input
            : unary == UnaryFunction.Neg ? outputGradient : output;
        if (inputGradient.Length != outputGradient.Length || reads.Length != outputGradient.Length)
        {
            throw new ArgumentException($"The backward of {unary} got {input.Length} inputs, {output.Length} outputs, {outputGradient.Length} gradients and room for {inputGradient.Length}.");
        }

        if (inputGradient.Length != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _unaryBackward, () =>
                _accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(UnaryBackwardKernel.Run));
            kernel(Stream, (int)inputGradient.Length, Ok(input), Ok(output), outputGradient, inputGradient, (int)unary);
        }
    }

    /// <inheritdoc cref="IKernelBackend.Choose"/>
    public void Choose(ArrayView<float> condition, ArrayView<float> whenTrue, ArrayView<float> whenFalse, ArrayView<float> output)
    {
        if (condition.Length != output.Length || (whenTrue.Length != 0 && whenTrue.Length != output.Length) || (whenFalse.Length != 0 && whenFalse.Length != output.Length))
        {
            throw new ArgumentException($"Select into {output.Length} values got a condition of {condition.Length} and branches of {whenTrue.Length} and {whenFalse.Length}.");
        }

        if (output.Length != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _select, () =>
                _accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(SelectKernel.Run));
            kernel(Stream, (int)output.Length, condition, Ok(whenTrue), Ok(whenFalse), output, whenTrue.Length != 0 ? 1 : 0, whenFalse.Length != 0 ? 1 : 0);
        }
    }

    /// <inheritdoc cref="IKernelBackend.Compare"/>
    public void Compare(Comparison comparison, ArrayView<float> a, ArrayView<float> b, ArrayView<float> output)
    {
        Defined(comparison);
        if (a.Length != output.Length || b.Length != output.Length)
        {
            throw new ArgumentException($"Comparing {a.Length} and {b.Length} values into {output.Length}.");
        }

        if (output.Length != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _compare, () =>
                _accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(CompareKernel.Run));
            kernel(Stream, (int)output.Length, a, b, output, (int)comparison);
        }
    }

    /// <inheritdoc cref="IKernelBackend.Pow"/>
    public void Pow(ArrayView<float> x, ArrayView<float> exponent, ArrayView<float> output)
    {
        if (output.Length != x.Length || (exponent.Length != 1 && exponent.Length != x.Length))
        {
            throw new ArgumentException($"Pow of {x.Length} values by {exponent.Length} exponents into {output.Length}.");
        }

        if (output.Length != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _pow, () =>
                _accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(PowKernel.Run));
            kernel(Stream, (int)output.Length, x, exponent, output, exponent.Length == 1 ? 1 : 0);
        }
    }

    /// <inheritdoc cref="IKernelBackend.PowBackward"/>
    public void PowBackward(ArrayView<float> x, ArrayView<float> exponent, ArrayView<float> outputGradient, ArrayView<float> xGradient, ArrayView<float> exponentGradient)
    {
        var n = x.Length;
        if (exponent.Length != n || outputGradient.Length != n || (xGradient.Length != 0 && xGradient.Length != n) || (exponentGradient.Length != 0 && exponentGradient.Length != n))
        {
            throw new ArgumentException($"Pow backward of {n} values got {exponent.Length} exponents, {outputGradient.Length} gradients and room for {xGradient.Length} and {exponentGradient.Length}.");
        }

        if (n != 0 && (xGradient.Length != 0 || exponentGradient.Length != 0))
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _powBackward, () =>
                _accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(PowBackwardKernel.Run));
            kernel(Stream, (int)n, x, exponent, outputGradient, Ok(xGradient), Ok(exponentGradient), xGradient.Length != 0 ? 1 : 0, exponentGradient.Length != 0 ? 1 : 0);
        }
    }

    /// <inheritdoc cref="IKernelBackend.ResampleAxis"/>
    /// <remarks>The resampling's tables are on the device already: <paramref name="indices"/> and <paramref name="weights"/>.</remarks>
    public void ResampleAxis(AxisResampling resampling, ArrayView<int> indices, ArrayView<float> weights, ArrayView<float> input, ArrayView<float> output)
    {
        ArgumentNullException.ThrowIfNull(resampling);
        resampling.Validate(input.Length, output.Length);
        if (output.Length != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _resample, () =>
                _accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ResampleShape>(ResampleAxisKernel.Run));
            kernel(Stream, (int)output.Length, input, output, indices, weights, new ResampleShape(resampling));
        }
    }

    /// <inheritdoc cref="IKernelBackend.ResampleAxisBackward"/>
    /// <remarks>The resampling's tables are on the device already: <paramref name="indices"/> and <paramref name="weights"/>.</remarks>
    public void ResampleAxisBackward(AxisResampling resampling, ArrayView<int> indices, ArrayView<float> weights, ArrayView<float> outputGradient, ArrayView<float> inputGradient)
    {
        ArgumentNullException.ThrowIfNull(resampling);
        resampling.Validate(inputGradient.Length, outputGradient.Length);
        Fill(inputGradient, 0f);
        if (outputGradient.Length != 0)
        {
            var kernel = LazyInitializer.EnsureInitialized(ref _resampleBackward, () =>
                _accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ResampleShape>(ResampleAxisBackwardKernel.Run));
            kernel(Stream, (int)outputGradient.Length, outputGradient, inputGradient, indices, weights, new ResampleShape(resampling));
        }
    }

    /// <inheritdoc cref="IKernelBackend.Contract"/>
    public void Contract(ReadOnlySpan<int> shape, int keptAxes, ArrayView<float> a, ReadOnlySpan<int> aStrides, ArrayView<float> b, ReadOnlySpan<int> bStrides,
        ArrayView<float> output)
    {
        var length = DataMovementChecks.Contraction(shape, keptAxes, a.Length, aStrides, b.Length, bStrides, output.Length);
        if (length == 0)
        {
            return;
        }

        var hasB = b.Length != 0;
        var kept = Broadcasting.Strided(shape[..keptAxes], aStrides[..keptAxes], hasB ? bStrides[..keptAxes] : new int[keptAxes]);
        var summedShape = shape[keptAxes..];
        var summed = Broadcasting.Strided(summedShape, aStrides[keptAxes..], hasB ? bStrides[keptAxes..] : new int[summedShape.Length]);
        long count = 1;
        foreach (var extent in summedShape)
        {
            count *= extent;
        }

        var kernel = LazyInitializer.EnsureInitialized(ref _contract, () =>
            _accelerator.LoadAutoGroupedKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, BroadcastIndex, BroadcastIndex, long, int>(ContractKernel.Run));
        kernel(Stream, (int)length, a, Ok(b), output, kept, summed, count, hasB ? 1 : 0);
    }

    private static RowNormalization Normalization(RowAffine affine, int cols, float epsilon, ArrayView<float> scale, ArrayView<float> bias) =>
        new(cols, epsilon, affine == RowAffine.PerRow ? 1 : 0, scale.Length != 0 ? 1 : 0, bias.Length != 0 ? 1 : 0, (int)Math.Max(scale.Length, bias.Length));

    private static void Defined<TEnum>(TEnum value)
        where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, $"Unknown {typeof(TEnum).Name}.");
        }
    }

    public void Dispose()
    {
        _pool.Dispose();
        _none.Dispose();
    }

    private static void CheckPlanes(int channels, int plane, long input, long weights, long expectedWeights, long output, long expectedOutput)
    {
        if (channels < 0 || plane < 0 || input != (long)channels * plane || weights != expectedWeights || output != expectedOutput)
        {
            throw new ArgumentException($"A map operation over {channels} planes of {plane} got {input} inputs, {weights} weights and room for {output}.");
        }
    }

    private static bool IsDepthwise(in Conv2dGeometry g) => g.Groups == g.InChannels && g.Groups == g.OutChannels;

    // A view the kernel may take even when empty (an empty bias, a zero-size operand).
    private ArrayView<float> Ok(ArrayView<float> view) => view.Length == 0 ? _none.View : view;
}
