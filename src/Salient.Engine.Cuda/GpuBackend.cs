using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using Salient.Engine.Devices;
using Salient.Engine.Kernels;
using Device = Salient.Engine.Devices.Device;
using PooledMemory = Salient.Engine.Cuda.DeviceBuffer;

namespace Salient.Engine.Cuda;

/// <summary>
/// The engine's backend on an ILGPU device: <c>cuda:N</c> (an NVIDIA GPU through its driver) or
/// <c>ilgpu</c> (ILGPU's CPU accelerator running the same kernels, a testing device, not a fast
/// one). Tensors live in device buffers from the backend's <see cref="DeviceBufferPool"/>; each
/// operation hands their views to the <see cref="GpuKernels"/> method of the same name, queued in
/// order on the backend's stream, so a chain of operations never touches the host. The registry's
/// backend of a device queues on the device's default stream; <see cref="OpenStream"/> gives a model
/// a backend on a stream of its own (a worker's model grains each take one), with its own pool,
/// staging and uploads, sharing the device and its compiled kernels. Host
/// views of caller memory (weights mapped from the model file, folded batch-norm parameters, CAM
/// weights) are uploaded once per buffer and kept while the caller keeps that buffer. Host data
/// crosses only in the buffers' copies (<see cref="Engine.Devices.DeviceBuffer.CopyFrom"/> through
/// pinned memory, <see cref="Engine.Devices.DeviceBuffer.CopyTo(int, Span{float})"/> after the stream's work).
/// Training kernels (batch norm in training mode, convolution weight gradients) are not here: those
/// operations throw <see cref="NotSupportedException"/> naming the device.
/// </summary>
public sealed class GpuBackend : IMultiStreamBackend, IStreamBackend
{
    /// <summary>The device kind of NVIDIA GPUs: <c>cuda</c>, <c>cuda:N</c>.</summary>
    public const string CudaKind = "cuda";

    /// <summary>The device kind of ILGPU's CPU accelerator (<c>ilgpu</c>), for tests of the GPU path without a GPU.</summary>
    public const string SimulatorKind = "ilgpu";

    private static readonly Lazy<bool> s_registered = new(() =>
    {
        KernelBackends.Register(CudaKind, Open);
        KernelBackends.Register(SimulatorKind, Open);
        return true;
    });

    // Pinned staging for uploads starts at one 224×224 image and grows to the largest batch uploaded.
    private const int InitialStaging = 3 * 224 * 224;

    private readonly SharedDevice _shared;
    private readonly GpuDevice _device;
    private readonly AcceleratorStream? _ownStream;
    private readonly GpuKernels _kernels;
    private readonly PinnedUpload _staging;
    private readonly Lock _stagingLock = new();
    private readonly ConditionalWeakTable<CpuBuffer, Dictionary<(int Offset, int Length), MemoryBuffer1D<float, Stride1D.Dense>>> _uploads = [];
    private int _disposed;

    // Pool per stream, not one pool per device with a wait on return: a buffer a tensor gives back may still be
    // read by kernels queued on its stream, and only work later on the same stream is sure to run after them.
    // Handing it to another stream would need a wait for the first stream's work on every return (a host round
    // trip per tensor, which the pool exists to avoid) or an event per buffer, which ILGPU 1.5 does not expose.
    // The cost is memory: each stream keeps its own free buffers.
    private GpuBackend(Device device, SharedDevice shared, AcceleratorStream? ownStream)
    {
        Device = device;
        _shared = shared;
        _device = shared.Gpu;
        _ownStream = ownStream;
        _kernels = new GpuKernels(_device.Accelerator, ownStream);
        _staging = new PinnedUpload(_device.Accelerator, _kernels.Stream, InitialStaging);
        Name = ownStream is null ? $"{device}/ilgpu ({_device.Name})" : $"{device}/ilgpu ({_device.Name}, own stream)";
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public Device Device { get; }

    /// <summary>Registers <c>cuda</c> and <c>ilgpu</c> with <see cref="KernelBackends"/> (once; later calls do nothing).</summary>
    public static void Register() => _ = s_registered.Value;

    /// <inheritdoc/>
    /// <exception cref="ObjectDisposedException">This backend is disposed.</exception>
    public IStreamBackend OpenStream()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        _shared.AddUser();
        AcceleratorStream? stream = null;
        try
        {
            stream = _device.Accelerator.CreateStream();
            return new GpuBackend(Device, _shared, stream);
        }
        catch
        {
            stream?.Dispose();
            _shared.Release();
            throw;
        }
    }

    /// <inheritdoc/>
    public Engine.Devices.DeviceBuffer Allocate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return new GpuBuffer(this, _kernels.Pool.Rent(length), length);
    }

    /// <inheritdoc/>
    public void Fill(BufferView target, float value) => _kernels.Fill(V(target), value);

    /// <inheritdoc/>
    public void Copy(BufferView source, BufferView destination) => _kernels.Copy(V(source), V(destination));

    /// <inheritdoc/>
    public void Synchronize() => _kernels.Synchronize();

    /// <inheritdoc/>
    public void Gemm(bool transA, bool transB, int m, int n, int k, float alpha, BufferView a, int lda, BufferView b, int ldb, float beta, BufferView c, int ldc) =>
        _kernels.Gemm(transA, transB, m, n, k, alpha, V(a), lda, V(b), ldb, beta, V(c), ldc);

    /// <inheritdoc/>
    public void Conv2d(in Conv2dGeometry g, BufferView input, BufferView weight, BufferView bias, BufferView output, in FusedActivation activation, bool accumulate = false,
        PreparedWeights? prepared = null) =>
        _kernels.Conv2d(g, V(input), V(weight), V(bias), V(output), activation, accumulate);

    /// <inheritdoc/>
    public void MaxPool2d(in Pool2dGeometry g, BufferView input, BufferView output) => _kernels.MaxPool2d(g, V(input), V(output));

    /// <inheritdoc/>
    public void AvgPool2d(in Pool2dGeometry g, bool countIncludePad, BufferView input, BufferView output) =>
        _kernels.AvgPool2d(g, countIncludePad, V(input), V(output));

    /// <inheritdoc/>
    public void GlobalAvgPool(int planes, int planeSize, BufferView input, BufferView output) => _kernels.GlobalAvgPool(planes, planeSize, V(input), V(output));

    /// <inheritdoc/>
    public void ChannelAffine(int n, int channels, int spatial, BufferView input, BufferView scale, BufferView shift, BufferView output, in FusedActivation activation) =>
        _kernels.ChannelAffine(n, channels, spatial, V(input), V(scale), V(shift), V(output), activation);

    /// <inheritdoc/>
    public void BatchNormTraining(int n, int channels, int spatial, BufferView input, BufferView gamma, BufferView beta, float epsilon,
        BufferView output, BufferView mean, BufferView variance) => throw TrainingOnly("Batch norm in training mode");

    /// <inheritdoc/>
    public void Activate(in FusedActivation activation, BufferView input, BufferView output) => _kernels.Activate(activation, V(input), V(output));

    /// <inheritdoc/>
    public void Binary(BinaryOp op, BufferView a, ReadOnlySpan<int> aShape, BufferView b, ReadOnlySpan<int> bShape, BufferView output, ReadOnlySpan<int> outShape,
        in FusedActivation activation = default) => _kernels.Binary(op, V(a), aShape, V(b), bShape, V(output), outShape, activation);

    /// <inheritdoc/>
    public void Softmax(int rows, int cols, BufferView input, BufferView output) => _kernels.Softmax(rows, cols, V(input), V(output));

    /// <inheritdoc/>
    public void Conv2dBackwardData(in Conv2dGeometry g, BufferView weight, BufferView outputGradient, BufferView inputGradient, PreparedWeights? prepared = null) =>
        _kernels.Conv2dBackwardData(g, V(weight), V(outputGradient), V(inputGradient));

    /// <inheritdoc/>
    public void Conv2dBackwardWeights(in Conv2dGeometry g, BufferView input, BufferView outputGradient, BufferView weightGradient, BufferView biasGradient) =>
        throw TrainingOnly("The convolution weight gradient");

    /// <inheritdoc/>
    public void BatchNormTrainingBackward(int n, int channels, int spatial, BufferView input, BufferView gamma, float epsilon, BufferView outputGradient,
        BufferView inputGradient, BufferView gammaGradient, BufferView betaGradient) => throw TrainingOnly("The gradient of batch norm in training mode");

    /// <inheritdoc/>
    public void MaxPool2dBackward(in Pool2dGeometry g, BufferView input, BufferView output, BufferView outputGradient, BufferView inputGradient) =>
        _kernels.MaxPool2dBackward(g, V(input), V(output), V(outputGradient), V(inputGradient));

    public void MaxPool2dTangent(in Pool2dGeometry g, BufferView input, BufferView output, BufferView inputTangent, BufferView outputTangent) =>
        _kernels.MaxPool2dTangent(g, V(input), V(output), V(inputTangent), V(outputTangent));

    /// <inheritdoc/>
    public void GlobalAvgPoolBackward(int planes, int planeSize, BufferView outputGradient, BufferView inputGradient) =>
        _kernels.GlobalAvgPoolBackward(planes, planeSize, V(outputGradient), V(inputGradient));

    /// <inheritdoc/>
    public void AvgPool2dBackward(in Pool2dGeometry g, bool countIncludePad, BufferView outputGradient, BufferView inputGradient) =>
        _kernels.AvgPool2dBackward(g, countIncludePad, V(outputGradient), V(inputGradient));

    /// <inheritdoc/>
    public void ActivateBackward(in FusedActivation activation, BufferView input, BufferView output, BufferView outputGradient, BufferView inputGradient) =>
        _kernels.ActivateBackward(activation, V(input), V(output), V(outputGradient), V(inputGradient));

    /// <inheritdoc/>
    public void ReduceToShape(BufferView input, ReadOnlySpan<int> inShape, BufferView output, ReadOnlySpan<int> outShape) =>
        _kernels.ReduceToShape(V(input), inShape, V(output), outShape);

    /// <inheritdoc/>
    public void ResizeBilinear(int planes, int inHeight, int inWidth, BufferView input, int outHeight, int outWidth, BufferView output, bool alignCorners) =>
        _kernels.ResizeBilinear(planes, inHeight, inWidth, V(input), outHeight, outWidth, V(output), alignCorners);

    /// <inheritdoc/>
    public void WeightedSum(int channels, int plane, BufferView maps, BufferView weights, BufferView output) =>
        _kernels.WeightedSum(channels, plane, V(maps), V(weights), V(output));

    /// <inheritdoc/>
    public void PlaneMeans(int channels, int plane, BufferView input, BufferView output) => _kernels.PlaneMeans(channels, plane, V(input), V(output));

    /// <inheritdoc/>
    public void ChannelMaxAbs(int channels, int plane, BufferView input, BufferView output) => _kernels.ChannelMaxAbs(channels, plane, V(input), V(output));

    /// <inheritdoc/>
    public void Map(MapFunction map, BufferView input, BufferView output) => _kernels.Map(map, V(input), V(output));

    /// <inheritdoc/>
    public void Normalize(MapNormalization normalization, float epsilon, int planes, BufferView map) => _kernels.Normalize(normalization, epsilon, planes, V(map));

    /// <inheritdoc/>
    public void Accumulate(MapFusion fusion, BufferView addend, BufferView accumulator) => _kernels.Accumulate(fusion, V(addend), V(accumulator));

    // Method arithmetic

    /// <inheritdoc/>
    public void ChannelWeights(ChannelWeighting weighting, int channels, int plane, BufferView activations, BufferView gradients, BufferView weights) =>
        _kernels.ChannelWeights(weighting, channels, plane, V(activations), V(gradients), V(weights));

    /// <inheritdoc/>
    public void ChannelProductSum(ChannelProduct product, int channels, int plane, BufferView activations, BufferView gradients, BufferView output) =>
        _kernels.ChannelProductSum(product, channels, plane, V(activations), V(gradients), V(output));

    /// <inheritdoc/>
    public void TruncatePositives(QuantileTruncation truncation, float quantile, int segments, BufferView values) =>
        _kernels.TruncatePositives(truncation, quantile, segments, V(values));

    /// <inheritdoc/>
    public void AddScaled(BufferView pattern, BufferView scales, BufferView target) => _kernels.AddScaled(V(pattern), V(scales), V(target));

    /// <inheritdoc/>
    public void FillNormal(ulong seed, ulong stream, float mean, float deviation, BufferView destination) =>
        _kernels.FillNormal(seed, stream, mean, deviation, V(destination));

    /// <inheritdoc/>
    public void SignTimes(int images, int channels, int plane, BufferView x, BufferView map, BufferView output) =>
        _kernels.SignTimes(images, channels, plane, V(x), V(map), V(output));

    /// <inheritdoc/>
    public void SignSplitLinearBackward(int rows, int inputs, int outputs, bool weightsTransposed, float gamma, BufferView input, BufferView weights,
        BufferView outputGradient, BufferView inputGradient) =>
        _kernels.SignSplitLinearBackward(rows, inputs, outputs, weightsTransposed, gamma, V(input), V(weights), V(outputGradient), V(inputGradient));

    /// <inheritdoc/>
    public void SpliceByRank(int channels, int plane, BufferView source, BufferView replacement, BufferView ranks, BufferView limits, BufferView output) =>
        _kernels.SpliceByRank(channels, plane, V(source), V(replacement), V(ranks), V(limits), V(output));
    // Data-movement and normalisation operators

    private readonly ConditionalWeakTable<int[], IndexUpload> _indexUploads = [];

    /// <inheritdoc/>
    public void StridedCopy(ReadOnlySpan<int> shape, BufferView source, int sourceOffset, ReadOnlySpan<int> sourceStrides, BufferView destination, int destinationOffset,
        ReadOnlySpan<int> destinationStrides, bool accumulate) =>
        _kernels.StridedCopy(shape, V(source), sourceOffset, sourceStrides, V(destination), destinationOffset, destinationStrides, accumulate);

    /// <inheritdoc/>
    public void IndexedGather(int[] indices, float fill, BufferView input, BufferView output) =>
        _kernels.IndexedGather(Indices(indices, input.Length), fill, V(input), V(output));

    /// <inheritdoc/>
    public void IndexedScatterAdd(int[] indices, BufferView gradient, BufferView target) =>
        _kernels.IndexedScatterAdd(Indices(indices, target.Length), V(gradient), V(target));

    /// <inheritdoc/>
    public void ReduceRows(RowReduction reduction, int rows, int cols, BufferView input, BufferView output) =>
        _kernels.ReduceRows(reduction, rows, cols, V(input), V(output));

    /// <inheritdoc/>
    public void ReduceRowsBackward(RowReduction reduction, bool firstOnly, int rows, int cols, BufferView input, BufferView output, BufferView outputGradient,
        BufferView inputGradient) =>
        _kernels.ReduceRowsBackward(reduction, firstOnly, rows, cols, V(input), V(output), V(outputGradient), V(inputGradient));

    /// <inheritdoc/>
    public void LogSoftmax(int rows, int cols, BufferView input, BufferView output) => _kernels.LogSoftmax(rows, cols, V(input), V(output));

    /// <inheritdoc/>
    public void SoftmaxBackward(bool log, int rows, int cols, BufferView output, BufferView outputGradient, BufferView inputGradient) =>
        _kernels.SoftmaxBackward(log, rows, cols, V(output), V(outputGradient), V(inputGradient));

    /// <inheritdoc/>
    public void NormalizeRows(RowAffine affine, int rows, int cols, float epsilon, BufferView input, BufferView scale, BufferView bias, BufferView output) =>
        _kernels.NormalizeRows(affine, rows, cols, epsilon, V(input), V(scale), V(bias), V(output));

    /// <inheritdoc/>
    /// <remarks>The input gradient only: the scale's and bias's are training's, and throw here.</remarks>
    public void NormalizeRowsBackward(RowAffine affine, int rows, int cols, float epsilon, BufferView input, BufferView scale, BufferView outputGradient,
        BufferView inputGradient, BufferView scaleGradient, BufferView biasGradient)
    {
        if (!scaleGradient.IsEmpty || !biasGradient.IsEmpty)
        {
            throw TrainingOnly("The scale and bias gradients of a normalisation");
        }

        if (!inputGradient.IsEmpty)
        {
            _kernels.NormalizeRowsBackward(affine, rows, cols, epsilon, V(input), V(scale), V(outputGradient), V(inputGradient));
        }
    }

    /// <inheritdoc/>
    public void Unary(UnaryFunction unary, BufferView input, BufferView output) => _kernels.Unary(unary, V(input), V(output));

    /// <inheritdoc/>
    public void UnaryBackward(UnaryFunction unary, BufferView input, BufferView output, BufferView outputGradient, BufferView inputGradient) =>
        _kernels.UnaryBackward(unary, V(input), V(output), V(outputGradient), V(inputGradient));

    /// <inheritdoc/>
    public void Choose(BufferView condition, BufferView whenTrue, BufferView whenFalse, BufferView output) =>
        _kernels.Choose(V(condition), V(whenTrue), V(whenFalse), V(output));

    /// <inheritdoc/>
    public void Compare(Comparison comparison, BufferView a, BufferView b, BufferView output) => _kernels.Compare(comparison, V(a), V(b), V(output));

    /// <inheritdoc/>
    public void Pow(BufferView x, BufferView exponent, BufferView output) => _kernels.Pow(V(x), V(exponent), V(output));

    /// <inheritdoc/>
    public void PowBackward(BufferView x, BufferView exponent, BufferView outputGradient, BufferView xGradient, BufferView exponentGradient) =>
        _kernels.PowBackward(V(x), V(exponent), V(outputGradient), V(xGradient), V(exponentGradient));

    /// <inheritdoc/>
    public void ResampleAxis(AxisResampling resampling, BufferView input, BufferView output)
    {
        ArgumentNullException.ThrowIfNull(resampling);
        _kernels.ResampleAxis(resampling, Indices(resampling.Indices, resampling.InSize), V(resampling.Weights), V(input), V(output));
    }

    /// <inheritdoc/>
    public void ResampleAxisBackward(AxisResampling resampling, BufferView outputGradient, BufferView inputGradient)
    {
        ArgumentNullException.ThrowIfNull(resampling);
        _kernels.ResampleAxisBackward(resampling, Indices(resampling.Indices, resampling.InSize), V(resampling.Weights), V(outputGradient), V(inputGradient));
    }

    /// <inheritdoc/>
    public void Contract(ReadOnlySpan<int> shape, int keptAxes, BufferView a, ReadOnlySpan<int> aStrides, BufferView b, ReadOnlySpan<int> bStrides, BufferView output) =>
        _kernels.Contract(shape, keptAxes, V(a), aStrides, V(b), bStrides, V(output));

    // An index map on the device: uploaded once per array (a plan keeps its arrays), its largest index checked against the data each time.
    private ArrayView<int> Indices(int[] indices, int dataLength)
    {
        ArgumentNullException.ThrowIfNull(indices);
        IndexUpload? upload;
        lock (_indexUploads)
        {
            if (!_indexUploads.TryGetValue(indices, out upload))
            {
                var buffer = _device.Accelerator.Allocate1D<int>(Math.Max(1, indices.Length));
                buffer.View.SubView(0, indices.Length).CopyFromCPU(_kernels.Stream, indices);
                upload = new IndexUpload(buffer, indices.Length == 0 ? -1 : indices.Max());
                _indexUploads.Add(indices, upload);
            }
        }

        if (upload.Largest >= dataLength)
        {
            throw new ArgumentException($"Index {upload.Largest} is outside the {dataLength} values it indexes.");
        }

        return upload.Buffer.View.SubView(0, indices.Length);
    }

    private sealed record IndexUpload(MemoryBuffer1D<int, Stride1D.Dense> Buffer, int Largest);

    /// <summary>
    /// Waits for the stream's work, then frees the backend's memory and its own stream; the device closes when the
    /// last backend on it is disposed, so the registry's backend and the streams opened from it may go in any order.
    /// (The registry's backends live as long as the process; this is for owners of their own.) Tensors of this
    /// backend must not be used afterwards; disposing them later is harmless.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Kernels still queued may read the memory freed below.
        _kernels.Synchronize();
        _staging.Dispose();
        _kernels.Dispose();
        foreach (var (_, uploads) in _uploads)
        {
            lock (uploads)
            {
                foreach (var buffer in uploads.Values)
                {
                    buffer.Dispose();
                }
            }
        }

        _uploads.Clear();
        lock (_indexUploads)
        {
            foreach (var (_, upload) in _indexUploads)
            {
                upload.Buffer.Dispose();
            }

            _indexUploads.Clear();
        }

        _ownStream?.Dispose();
        _shared.Release();
    }

    /// <summary>
    /// Opens a backend of <paramref name="device"/> on the device's default stream: <c>cuda:N</c> opens that GPU, <c>ilgpu</c>
    /// ILGPU's CPU accelerator. This is the registry's factory; a caller that opens one itself owns and disposes it.
    /// </summary>
    /// <exception cref="DeviceUnavailableException">The device or its driver is not there (the message names the device).</exception>
    public static GpuBackend Open(Device device)
    {
        if (device.Kind == SimulatorKind && device.Index != 0)
        {
            throw new DeviceUnavailableException($"Device '{device}' is not there: ILGPU's CPU accelerator is one device, '{SimulatorKind}'.");
        }

        GpuDevice gpu;
        try
        {
            gpu = device.Kind == SimulatorKind ? GpuDevice.OpenCpuSimulator() : GpuDevice.Open(device.ToString());
        }
        catch (GpuDeviceUnavailableException e)
        {
            throw new DeviceUnavailableException(e.Message, e);
        }

        try
        {
            return new GpuBackend(device, new SharedDevice(gpu), null);
        }
        catch
        {
            gpu.Dispose();
            throw;
        }
    }

    /// <summary>The device of a backend and the streams opened from it, closed when the last of them is disposed.</summary>
    private sealed class SharedDevice(GpuDevice gpu)
    {
        private readonly Lock _lock = new();
        private int _users = 1;

        public GpuDevice Gpu => gpu;

        public void AddUser()
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_users == 0, gpu);
                _users++;
            }
        }

        public void Release()
        {
            bool last;
            lock (_lock)
            {
                last = --_users == 0;
            }

            if (last)
            {
                gpu.Dispose();
            }
        }
    }

    // Two streams' work runs in no set order: a buffer one stream's kernels write cannot be read on another without a wait.
    private InvalidOperationException OtherStream(GpuBackend owner) =>
        new($"A buffer of another backend on device {Device} ({owner.Name}) was handed to {Name}: each model's backend has its own stream and memory; copy the tensor to the host first.");

    private NotSupportedException TrainingOnly(string operation) =>
        new($"{operation} is not supported on device {Device}: the GPU backend runs inference and explanations only; train on cpu.");

    // The device view of an operand: this backend's own buffer, or caller memory on the host (uploaded once per buffer).
    private ArrayView<float> V(BufferView view) => view.Buffer switch
    {
        null => default,
        GpuBuffer own when own.Owner == this => own.View.SubView(view.Offset, view.Length),
        GpuBuffer other => throw OtherStream(other.Owner),
        CpuBuffer { IsPooled: false } host => Uploaded(host, view.Offset, view.Length),
        _ => throw Engine.Devices.DeviceBuffer.WrongDevice(view.Device, Device),
    };

    private ArrayView<float> Uploaded(CpuBuffer host, int offset, int length)
    {
        var uploads = _uploads.GetOrCreateValue(host);
        lock (uploads)
        {
            if (!uploads.TryGetValue((offset, length), out var buffer))
            {
                buffer = _device.Accelerator.Allocate1D<float>(Math.Max(1, length));
                buffer.View.SubView(0, length).CopyFromCPU(_kernels.Stream, host.Memory.Span.Slice(offset, length));
                uploads[(offset, length)] = buffer;
            }

            return buffer.View.SubView(0, length);
        }
    }

    private void Upload(ReadOnlySpan<float> source, ArrayView<float> destination)
    {
        lock (_stagingLock)
        {
            _staging.Upload(source, destination);
        }
    }

    /// <summary>A tensor's storage on the device: memory rented from the backend's pool, returned on dispose.</summary>
    private sealed class GpuBuffer(GpuBackend owner, PooledMemory memory, int length) : Engine.Devices.DeviceBuffer
    {
        public GpuBackend Owner => owner;

        public ArrayView<float> View => memory.View;

        public override Device Device => owner.Device;

        public override int Length => length;

        public override Engine.Devices.DeviceBuffer AllocateLike(int length) => owner.Allocate(length);

        public override void CopyFrom(ReadOnlySpan<float> source, int offset) => owner.Upload(source, View.SubView(offset, source.Length));

        // Queued behind the stream's work, then waited for: the host sees every earlier operation's result.
        public override void CopyTo(int offset, Span<float> destination)
        {
            if (!destination.IsEmpty)
            {
                View.SubView(offset, destination.Length).CopyToCPU(owner._kernels.Stream, destination);
            }
        }

        public override void CopyTo(int offset, Engine.Devices.DeviceBuffer destination, int destinationOffset, int length)
        {
            if (destination is not GpuBuffer target)
            {
                throw WrongDevice(destination.Device, Device);
            }

            if (target.Owner != owner)
            {
                throw owner.OtherStream(target.Owner);
            }

            owner._kernels.Copy(View.SubView(offset, length), target.View.SubView(destinationOffset, length));
        }

        protected override void Release() => memory.Dispose();
    }
}
