using Salient.Engine.Devices;
using Salient.Engine.Kernels;
using Salient.Engine.Kernels.Cpu;

namespace Salient.Tests.Devices;

/// <summary>
/// A device that is not the host, for tests of the device contract without a GPU: its buffers are
/// arrays the host cannot see as spans (<see cref="BufferView.Span"/> throws), its operations are
/// the CPU kernels, and it refuses pooled host buffers, so a step or method that computes on the
/// host, or allocates its result there, fails here instead of passing by accident. Host views of
/// caller memory (small parameters: folded weights, CAM weights) are accepted, as the contract says.
/// </summary>
internal sealed class SimulatedDeviceBackend : IKernelBackend
{
    public const string Kind = "simulated";

    private static readonly Lazy<bool> s_registered = new(() =>
    {
        KernelBackends.Register(Kind, device => new SimulatedDeviceBackend(device));
        return true;
    });

    private readonly CpuBackend _cpu = new(GemmProvider.Managed);

    private SimulatedDeviceBackend(Device device)
    {
        Device = device;
    }

    /// <summary>The simulated device 0, registered once per test process.</summary>
    public static Device Device0
    {
        get
        {
            _ = s_registered.Value;
            return new Device(Kind);
        }
    }

    /// <summary>Floats copied between host and device since the process started (uploads, downloads).</summary>
    public static long Uploaded => Interlocked.Read(ref SimulatedBuffer.UploadedCount);

    /// <inheritdoc cref="Uploaded"/>
    public static long Downloaded => Interlocked.Read(ref SimulatedBuffer.DownloadedCount);

    public string Name => "simulated";

    public Device Device { get; }

    public DeviceBuffer Allocate(int length) => new SimulatedBuffer(Device, length);

    public void Fill(BufferView target, float value) => _cpu.Fill(H(target), value);

    public void Copy(BufferView source, BufferView destination) => _cpu.Copy(H(source), H(destination));

    public void Synchronize()
    {
    }

    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, BufferView a, int lda, BufferView b, int ldb, float beta, BufferView c, int ldc) =>
        _cpu.Gemm(transA, transB, m, n, k, alpha, H(a), lda, H(b), ldb, beta, H(c), ldc);

    public void Conv2d(in Conv2dGeometry g, BufferView input, BufferView weight, BufferView bias, BufferView output, in FusedActivation activation, bool accumulate = false,
        PreparedWeights? prepared = null) =>
        _cpu.Conv2d(g, H(input), H(weight), H(bias), H(output), activation, accumulate, prepared);

    public void MaxPool2d(in Pool2dGeometry g, BufferView input, BufferView output) => _cpu.MaxPool2d(g, H(input), H(output));

    public void AvgPool2d(in Pool2dGeometry g, bool countIncludePad, BufferView input, BufferView output) => _cpu.AvgPool2d(g, countIncludePad, H(input), H(output));

    public void GlobalAvgPool(int planes, int planeSize, BufferView input, BufferView output) => _cpu.GlobalAvgPool(planes, planeSize, H(input), H(output));

    public void ChannelAffine(int n, int channels, int spatial, BufferView input, BufferView scale, BufferView shift, BufferView output, in FusedActivation activation) =>
        _cpu.ChannelAffine(n, channels, spatial, H(input), H(scale), H(shift), H(output), activation);

    public void BatchNormTraining(int n, int channels, int spatial, BufferView input, BufferView gamma, BufferView beta, float epsilon, BufferView output, BufferView mean, BufferView variance) =>
        _cpu.BatchNormTraining(n, channels, spatial, H(input), H(gamma), H(beta), epsilon, H(output), H(mean), H(variance));

    public void Activate(in FusedActivation activation, BufferView input, BufferView output) => _cpu.Activate(activation, H(input), H(output));

    public void Binary(BinaryOp op, BufferView a, ReadOnlySpan<int> aShape, BufferView b, ReadOnlySpan<int> bShape, BufferView output, ReadOnlySpan<int> outShape, in FusedActivation activation = default) =>
        _cpu.Binary(op, H(a), aShape, H(b), bShape, H(output), outShape, activation);

    public void Softmax(int rows, int cols, BufferView input, BufferView output) => _cpu.Softmax(rows, cols, H(input), H(output));

    public void Conv2dBackwardData(in Conv2dGeometry g, BufferView weight, BufferView outputGradient, BufferView inputGradient, PreparedWeights? prepared = null) =>
        _cpu.Conv2dBackwardData(g, H(weight), H(outputGradient), H(inputGradient), prepared);

    public void Conv2dBackwardWeights(in Conv2dGeometry g, BufferView input, BufferView outputGradient, BufferView weightGradient, BufferView biasGradient) =>
        _cpu.Conv2dBackwardWeights(g, H(input), H(outputGradient), H(weightGradient), H(biasGradient));

    public void BatchNormTrainingBackward(int n, int channels, int spatial, BufferView input, BufferView gamma, float epsilon, BufferView outputGradient, BufferView inputGradient,
        BufferView gammaGradient, BufferView betaGradient) =>
        _cpu.BatchNormTrainingBackward(n, channels, spatial, H(input), H(gamma), epsilon, H(outputGradient), H(inputGradient), H(gammaGradient), H(betaGradient));

    public void MaxPool2dBackward(in Pool2dGeometry g, BufferView input, BufferView output, BufferView outputGradient, BufferView inputGradient) =>
        _cpu.MaxPool2dBackward(g, H(input), H(output), H(outputGradient), H(inputGradient));

    public void MaxPool2dTangent(in Pool2dGeometry g, BufferView input, BufferView output, BufferView inputTangent, BufferView outputTangent) =>
        _cpu.MaxPool2dTangent(g, H(input), H(output), H(inputTangent), H(outputTangent));

    public void GlobalAvgPoolBackward(int planes, int planeSize, BufferView outputGradient, BufferView inputGradient) =>
        _cpu.GlobalAvgPoolBackward(planes, planeSize, H(outputGradient), H(inputGradient));

    public void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, BufferView outputGradient, BufferView inputGradient) =>
        _cpu.AvgPool2dBackward(g, countIncludePad, H(outputGradient), H(inputGradient));

    public void ActivateBackward(in FusedActivation activation, BufferView input, BufferView output, BufferView outputGradient, BufferView inputGradient) =>
        _cpu.ActivateBackward(activation, H(input), H(output), H(outputGradient), H(inputGradient));

    public void ReduceToShape(BufferView input, ReadOnlySpan<int> inShape, BufferView output, ReadOnlySpan<int> outShape) =>
        _cpu.ReduceToShape(H(input), inShape, H(output), outShape);

    public void ResizeBilinear(int planes, int inHeight, int inWidth, BufferView input, int outHeight, int outWidth, BufferView output, bool alignCorners) =>
        _cpu.ResizeBilinear(planes, inHeight, inWidth, H(input), outHeight, outWidth, H(output), alignCorners);

    public void WeightedSum(int channels, int plane, BufferView maps, BufferView weights, BufferView output) =>
        _cpu.WeightedSum(channels, plane, H(maps), H(weights), H(output));

    public void PlaneMeans(int channels, int plane, BufferView input, BufferView output) => _cpu.PlaneMeans(channels, plane, H(input), H(output));

    public void ChannelMaxAbs(int channels, int plane, BufferView input, BufferView output) => _cpu.ChannelMaxAbs(channels, plane, H(input), H(output));

    public void Map(MapFunction map, BufferView input, BufferView output) => _cpu.Map(map, H(input), H(output));

    public void Normalize(MapNormalization normalization, float epsilon, int planes, BufferView map) => _cpu.Normalize(normalization, epsilon, planes, H(map));

    public void Accumulate(MapFusion fusion, BufferView addend, BufferView accumulator) => _cpu.Accumulate(fusion, H(addend), H(accumulator));

    // Method arithmetic

    public void ChannelWeights(ChannelWeighting weighting, int channels, int plane, BufferView activations, BufferView gradients, BufferView weights) =>
        _cpu.ChannelWeights(weighting, channels, plane, H(activations), H(gradients), H(weights));

    public void ChannelProductSum(ChannelProduct product, int channels, int plane, BufferView activations, BufferView gradients, BufferView output) =>
        _cpu.ChannelProductSum(product, channels, plane, H(activations), H(gradients), H(output));

    public void TruncatePositives(QuantileTruncation truncation, float quantile, int segments, BufferView values) =>
        _cpu.TruncatePositives(truncation, quantile, segments, H(values));

    public void AddScaled(BufferView pattern, BufferView scales, BufferView target) => _cpu.AddScaled(H(pattern), H(scales), H(target));

    public void FillNormal(ulong seed, ulong stream, float mean, float deviation, BufferView destination) =>
        _cpu.FillNormal(seed, stream, mean, deviation, H(destination));

    public void SignTimes(int images, int channels, int plane, BufferView x, BufferView map, BufferView output) =>
        _cpu.SignTimes(images, channels, plane, H(x), H(map), H(output));

    public void SignSplitLinearBackward(int rows, int inputs, int outputs, bool weightsTransposed, float gamma, BufferView input, BufferView weights,
        BufferView outputGradient, BufferView inputGradient) =>
        _cpu.SignSplitLinearBackward(rows, inputs, outputs, weightsTransposed, gamma, H(input), H(weights), H(outputGradient), H(inputGradient));

    public void SpliceByRank(int channels, int plane, BufferView source, BufferView replacement, BufferView ranks, BufferView limits, BufferView output) =>
        _cpu.SpliceByRank(channels, plane, H(source), H(replacement), H(ranks), H(limits), H(output));
    // Data-movement and normalisation operators

    public void StridedCopy(ReadOnlySpan<int> shape, BufferView source, int sourceOffset, ReadOnlySpan<int> sourceStrides, BufferView destination, int destinationOffset,
        ReadOnlySpan<int> destinationStrides, bool accumulate) =>
        _cpu.StridedCopy(shape, H(source), sourceOffset, sourceStrides, H(destination), destinationOffset, destinationStrides, accumulate);

    public void IndexedGather(int[] indices, float fill, BufferView input, BufferView output) => _cpu.IndexedGather(indices, fill, H(input), H(output));

    public void IndexedScatterAdd(int[] indices, BufferView gradient, BufferView target) => _cpu.IndexedScatterAdd(indices, H(gradient), H(target));

    public void ReduceRows(RowReduction reduction, int rows, int cols, BufferView input, BufferView output) => _cpu.ReduceRows(reduction, rows, cols, H(input), H(output));

    public void ReduceRowsBackward(RowReduction reduction, bool firstOnly, int rows, int cols, BufferView input, BufferView output, BufferView outputGradient, BufferView inputGradient) =>
        _cpu.ReduceRowsBackward(reduction, firstOnly, rows, cols, H(input), H(output), H(outputGradient), H(inputGradient));

    public void LogSoftmax(int rows, int cols, BufferView input, BufferView output) => _cpu.LogSoftmax(rows, cols, H(input), H(output));

    public void SoftmaxBackward(bool log, int rows, int cols, BufferView output, BufferView outputGradient, BufferView inputGradient) =>
        _cpu.SoftmaxBackward(log, rows, cols, H(output), H(outputGradient), H(inputGradient));

    public void NormalizeRows(RowAffine affine, int rows, int cols, float epsilon, BufferView input, BufferView scale, BufferView bias, BufferView output) =>
        _cpu.NormalizeRows(affine, rows, cols, epsilon, H(input), H(scale), H(bias), H(output));

    public void NormalizeRowsBackward(RowAffine affine, int rows, int cols, float epsilon, BufferView input, BufferView scale, BufferView outputGradient, BufferView inputGradient,
        BufferView scaleGradient, BufferView biasGradient) =>
        _cpu.NormalizeRowsBackward(affine, rows, cols, epsilon, H(input), H(scale), H(outputGradient), H(inputGradient), H(scaleGradient), H(biasGradient));

    public void Unary(UnaryFunction unary, BufferView input, BufferView output) => _cpu.Unary(unary, H(input), H(output));

    public void UnaryBackward(UnaryFunction unary, BufferView input, BufferView output, BufferView outputGradient, BufferView inputGradient) =>
        _cpu.UnaryBackward(unary, H(input), H(output), H(outputGradient), H(inputGradient));

    public void Choose(BufferView condition, BufferView whenTrue, BufferView whenFalse, BufferView output) => _cpu.Choose(H(condition), H(whenTrue), H(whenFalse), H(output));

    public void Compare(Comparison comparison, BufferView a, BufferView b, BufferView output) => _cpu.Compare(comparison, H(a), H(b), H(output));

    public void Pow(BufferView x, BufferView exponent, BufferView output) => _cpu.Pow(H(x), H(exponent), H(output));

    public void PowBackward(BufferView x, BufferView exponent, BufferView outputGradient, BufferView xGradient, BufferView exponentGradient) =>
        _cpu.PowBackward(H(x), H(exponent), H(outputGradient), H(xGradient), H(exponentGradient));

    public void ResampleAxis(AxisResampling resampling, BufferView input, BufferView output) => _cpu.ResampleAxis(resampling, H(input), H(output));

    public void ResampleAxisBackward(AxisResampling resampling, BufferView outputGradient, BufferView inputGradient) =>
        _cpu.ResampleAxisBackward(resampling, H(outputGradient), H(inputGradient));

    public void Contract(ReadOnlySpan<int> shape, int keptAxes, BufferView a, ReadOnlySpan<int> aStrides, BufferView b, ReadOnlySpan<int> bStrides, BufferView output) =>
        _cpu.Contract(shape, keptAxes, H(a), aStrides, H(b), bStrides, H(output));

    // This device's memory as the CPU kernels see it; a pooled host buffer here means someone computed or allocated on the host.
    private BufferView H(BufferView view) => view.Buffer switch
    {
        null => default,
        SimulatedBuffer own when own.Device == Device => own.HostView.Slice(view.Offset, view.Length),
        CpuBuffer { IsPooled: false } => view,
        _ => throw DeviceBuffer.WrongDevice(view.Device, Device),
    };

    private sealed class SimulatedBuffer(Device device, int length) : DeviceBuffer
    {
        public static long UploadedCount;
        public static long DownloadedCount;

        public float[] Array { get; } = new float[length];

        // One host view for the buffer's life, so that the CPU kernels' cache of prepared weights,
        // keyed by the buffer, keeps one entry per weight as it does on the host.
        public BufferView HostView => field.Buffer is null ? field = BufferView.Host(Array) : field;

        public override Device Device => device;

        public override int Length => Array.Length;

        public override DeviceBuffer AllocateLike(int length) => new SimulatedBuffer(device, length);

        public override void CopyFrom(ReadOnlySpan<float> source, int offset)
        {
            Interlocked.Add(ref UploadedCount, source.Length);
            source.CopyTo(Array.AsSpan(offset));
        }

        public override void CopyTo(int offset, Span<float> destination)
        {
            Interlocked.Add(ref DownloadedCount, destination.Length);
            Array.AsSpan(offset, destination.Length).CopyTo(destination);
        }

        public override void CopyTo(int offset, DeviceBuffer destination, int destinationOffset, int length)
        {
            var target = destination as SimulatedBuffer ?? throw WrongDevice(destination.Device, device);
            Array.AsSpan(offset, length).CopyTo(target.Array.AsSpan(destinationOffset));
        }

        protected override void Release()
        {
        }
    }
}
