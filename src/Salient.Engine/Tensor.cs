using System.Buffers;

namespace Salient.Engine;

/// <summary>
/// A dense float32 tensor in row-major order (NCHW for images). A tensor owns its storage:
/// storage rented from the shared pool goes back to it on <see cref="Dispose"/>, and a tensor
/// that wraps caller memory leaves that memory alone. Views made by <see cref="Reshape"/> share
/// storage and own nothing.
/// </summary>
public sealed class Tensor : IDisposable
{
    private readonly int[] _shape;
    private Memory<float> _memory;
    private float[]? _rented;

    private Tensor(int[] shape, Memory<float> memory, float[]? rented)
    {
        _shape = shape;
        _memory = memory;
        _rented = rented;
    }

    /// <summary>The extent of each dimension.</summary>
    public ReadOnlySpan<int> Shape => _shape;

    /// <summary>The number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements.</summary>
    public int Length => _memory.Length;

    /// <summary>The elements, row-major.</summary>
    public Span<float> Span => _memory.Span;

    /// <summary>The elements as memory, for code that must hold them across an await or a parallel loop.</summary>
    public Memory<float> Memory => _memory;

    /// <summary>The extent of dimension <paramref name="axis"/>; negative axes count from the end.</summary>
    public int Dim(int axis) => _shape[axis < 0 ? axis + _shape.Length : axis];

    /// <summary>True when this tensor's storage came from the pool and goes back on dispose (not a view, not wrapped memory).</summary>
    public bool OwnsStorage => _rented is not null;

    /// <summary>A copy of the shape.</summary>
    public int[] ShapeArray() => (int[])_shape.Clone();

    /// <summary>A tensor of zeros with storage rented from the pool.</summary>
    public static Tensor Zeros(params ReadOnlySpan<int> shape)
    {
        var t = Uninitialized(shape);
        t.Span.Clear();
        return t;
    }

    /// <summary>
    /// A tensor with pooled storage whose contents are unspecified; for kernels that overwrite
    /// every element.
    /// </summary>
    public static Tensor Uninitialized(params ReadOnlySpan<int> shape)
    {
        var dims = shape.ToArray();
        var length = CheckedLength(dims);
        var rented = ArrayPool<float>.Shared.Rent(length);
        return new Tensor(dims, rented.AsMemory(0, length), rented);
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

        return new Tensor(dims, data, null);
    }

    /// <summary>A pooled copy of <paramref name="data"/> with the given shape.</summary>
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

        return new Tensor(dims, _memory, null);
    }

    /// <summary>
    /// Moves this tensor's storage, and the duty to return it, into a new tensor of another shape
    /// with the same length; this tensor is left empty.
    /// </summary>
    internal Tensor TakeStorage(ReadOnlySpan<int> shape)
    {
        var moved = new Tensor(shape.ToArray(), _memory, _rented);
        if (moved.Length != CheckedLength(shape))
        {
            throw new ArgumentException($"Cannot view [{FormatShape(_shape)}] as [{FormatShape(shape)}].", nameof(shape));
        }

        _rented = null;
        _memory = Memory<float>.Empty;
        return moved;
    }

    /// <summary>A pooled copy that owns its storage.</summary>
    public Tensor Clone() => FromSpan(Span, _shape);

    /// <summary>Returns pooled storage to the pool. Using the tensor afterwards is a bug.</summary>
    public void Dispose()
    {
        var rented = _rented;
        _rented = null;
        _memory = Memory<float>.Empty;
        if (rented is not null)
        {
            ArrayPool<float>.Shared.Return(rented);
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
