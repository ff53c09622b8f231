using Salient.Engine.Devices;
using Salient.Engine.Kernels;

namespace Salient.Engine;

/// <summary>
/// A dense float32 tensor in row-major order (NCHW for images) on one <see cref="Devices.Device"/>.
/// A tensor owns its storage, a <see cref="DeviceBuffer"/>: pooled storage goes back to its pool on
/// <see cref="Dispose"/>, and a tensor that wraps caller memory leaves that memory alone. Views made
/// by <see cref="Reshape"/> share storage and own nothing. Backend operations take the elements as
/// <see cref="Data"/>; <see cref="Span"/> exists only on the host (<see cref="Devices.Device.Cpu"/>).
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly int[] _shape;
    private BufferView _data;
    private bool _owns;

    private Tensor(int[] shape, BufferView data, bool owns)
    {
        _shape = shape;
        _data = data;
        _owns = owns;
    }

    /// <summary>The extent of each dimension.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>The number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements.</summary>
    public int Length => _data.Length;

    /// <summary>The device the storage lives on.</summary>
    public Device Device => _data.Device;

    /// <summary>The elements on their device, for backend operations (<see cref="Kernels.IKernelBackend"/>).</summary>
    public BufferView Data => _data;

    /// <summary>The elements, row-major; host tensors only (copy a device tensor with <see cref="ToHost"/> first).</summary>
    public Span<float> Span => _data.Span;

    /// <summary>The elements as memory, for code that must hold them across an await or a parallel loop; host tensors only.</summary>
    public Memory<float> Memory => _data.Buffer switch
    {
        null => Memory<float>.Empty,
        CpuBuffer cpu => cpu.Memory.Slice(_data.Offset, _data.Length),
        _ => throw new InvalidOperationException($"{this} is on {Device}, not host memory; copy it to the host first (ToHost)."),
    };

    /// <summary>The extent of dimension <paramref name="axis"/>; negative axes count from the end.</summary>
    public int Dim(int axis) => _shape[axis < 0 ? axis + _shape.Length : axis];

    /// <summary>True when this tensor's storage came from a pool and goes back on dispose (not a view, not wrapped memory).</summary>
    public bool OwnsStorage => _owns;

    /// <summary>A copy of the shape.</summary>
    public int[] ShapeArray() => (int[])_shape.Clone();

    /// <summary>A host tensor of zeros with storage rented from the pool.</summary>
    public static Tensor Zeros(params ReadOnlySpan<int> shape)
    {
        var t = Uninitialized(shape);
        t.Span.Clear();
        return t;
    }

    /// <summary>
    /// A host tensor with pooled storage whose contents are unspecified; for kernels that overwrite
    /// every element.
    /// </summary>
    public static Tensor Uninitialized(params ReadOnlySpan<int> shape)
    {
        var dims = shape.ToArray();
        var buffer = CpuBuffer.Rent(CheckedLength(dims));
        return new Tensor(dims, new BufferView(buffer, 0, buffer.Length), true);
    }

    /// <summary>A tensor on <paramref name="backend"/>'s device with storage from its pool; contents unspecified.</summary>
    public static Tensor Uninitialized(IKernelBackend backend, params ReadOnlySpan<int> shape)
    {
        ArgumentNullException.ThrowIfNull(backend);
        var dims = shape.ToArray();
        var length = CheckedLength(dims);
        return new Tensor(dims, new BufferView(backend.Allocate(length), 0, length), true);
    }

    /// <summary>A tensor of zeros on <paramref name="backend"/>'s device.</summary>
    public static Tensor Zeros(IKernelBackend backend, params ReadOnlySpan<int> shape)
    {
        var t = Uninitialized(backend, shape);
        backend.Fill(t.Data, 0f);
        return t;
    }

    /// <summary>Wraps <paramref name="data"/> without copying; the caller keeps ownership of the array.</summary>
    public static Tensor Wrap(Memory<float> data, params ReadOnlySpan<int> shape)
    {
        var dims = shape.ToArray();
        var length = CheckedLength(dims);
        if (length != data.Length)
        {
            throw new ArgumentException($"Shape [{string.Join(',', dims)}] needs {length} elements, the data has {data.Length}.", nameof(data));
        }

        return new Tensor(dims, BufferView.Host(data), false);
    }

    /// <summary>A pooled host copy of <paramref name="data"/> with the given shape.</summary>
    public static Tensor FromSpan(ReadOnlySpan<float> data, params ReadOnlySpan<int> shape)
    {
        var t = Uninitialized(shape);
        if (data.Length != t.Length)
        {
            t.Dispose();
            throw new ArgumentException($"Shape [{string.Join(',', shape.ToArray())}] needs {CheckedLength(shape)} elements, the data has {data.Length}.", nameof(data));
        }

        data.CopyTo(t.Span);
        return t;
    }

    /// <summary>A view with another shape of the same length; it shares storage and owns nothing.</summary>
    public Tensor Reshape(params ReadOnlySpan<int> shape)
    {
        var dims = shape.ToArray();
        if (CheckedLength(dims) != Length)
        {
            throw new ArgumentException($"Cannot view [{FormatShape(_shape)}] as [{FormatShape(dims)}].", nameof(shape));
        }

        return new Tensor(dims, _data, false);
    }

    /// <summary>
    /// Moves this tensor's storage, and the duty to return it, into a new tensor of another shape
    /// with the same length; this tensor is left empty.
    /// </summary>
    internal Tensor TakeStorage(ReadOnlySpan<int> shape)
    {
        if (Length != CheckedLength(shape))
        {
            throw new ArgumentException($"Cannot view [{FormatShape(_shape)}] as [{FormatShape(shape)}].", nameof(shape));
        }

        var moved = new Tensor(shape.ToArray(), _data, _owns);
        _owns = false;
        _data = default;
        return moved;
    }

    /// <summary>A copy on the same device, with storage from that device's pool.</summary>
    public Tensor Clone()
    {
        if (_data.Buffer is null or CpuBuffer)
        {
            return FromSpan(Span, _shape);
        }

        var buffer = _data.Buffer.AllocateLike(Length);
        _data.Buffer.CopyTo(_data.Offset, buffer, 0, Length);
        return new Tensor(ShapeArray(), new BufferView(buffer, 0, Length), true);
    }

    /// <summary>A pooled host copy (a download for a device tensor; a copy for a host one).</summary>
    public Tensor ToHost()
    {
        var host = Uninitialized(_shape);
        _data.CopyTo(host.Span);
        return host;
    }

    /// <summary>
    /// This tensor on <paramref name="backend"/>'s device: itself (not a copy) when it is already
    /// there, else a copy the caller owns, uploaded or downloaded once.
    /// </summary>
    public Tensor To(IKernelBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        if (Device == backend.Device)
        {
            return this;
        }

        if (!Device.IsCpu && !backend.Device.IsCpu)
        {
            throw new InvalidOperationException($"{this} is on {Device}; copy it to the host before moving it to {backend.Device}.");
        }

        var moved = Uninitialized(backend, _shape);
        if (Device.IsCpu)
        {
            moved._data.CopyFrom(Span);
        }
        else
        {
            _data.CopyTo(moved.Span);
        }

        return moved;
    }

    /// <summary>Returns pooled storage to its pool. Using the tensor afterwards is a bug.</summary>
    public void Dispose()
    {
        var data = _data;
        var owns = _owns;
        _owns = false;
        _data = default;
        if (owns)
        {
            data.Buffer?.Dispose();
        }
    }

    /// <summary>The shape as text, e.g. <c>[1,3,224,224]</c>.</summary>
    public override string ToString() => $"Tensor[{FormatShape(_shape)}]";

    internal static string FormatShape(ReadOnlySpan<int> shape)
    {
        var parts = new string[shape.Length];
        for (var i = 0; i < shape.Length; i++)
        {
            parts[i] = shape[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return string.Join(',', parts);
    }

    internal static int CheckedLength(ReadOnlySpan<int> shape)
    {
        long length = 1;
        foreach (var d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Negative dimension in shape [{FormatShape(shape)}].");
            }

            length *= d;
            if (length > Array.MaxLength)
            {
                throw new ArgumentException($"Shape [{FormatShape(shape)}] has more elements than one tensor can hold.");
            }
        }

        return (int)length;
    }
}
