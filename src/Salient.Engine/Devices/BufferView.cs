namespace Salient.Engine.Devices;

/// <summary>
/// A range of a <see cref="DeviceBuffer"/>: what backend operations read and write. On the host
/// <see cref="Span"/> gives the elements; a device backend maps the view to its own (an ILGPU one:
/// <c>buffer.View.SubView(Offset, Length)</c>). The default view is empty (an absent bias).
/// </summary>
public readonly record struct BufferView
{
    /// <summary>The <paramref name="length"/> elements of <paramref name="buffer"/> from <paramref name="offset"/>.</summary>
    public BufferView(DeviceBuffer buffer, int offset, int length)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if ((long)offset + length > buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"Elements {offset}..{offset + length} are outside a buffer of {buffer.Length}.");
        }

        Buffer = buffer;
        Offset = offset;
        Length = length;
    }

    /// <summary>The buffer viewed; null for the empty view.</summary>
    public DeviceBuffer? Buffer { get; }

    /// <summary>The first element's index in the buffer.</summary>
    public int Offset { get; }

    /// <summary>The number of elements.</summary>
    public int Length { get; }

    /// <summary>Whether the view has no elements.</summary>
    public bool IsEmpty => Length == 0;

    /// <summary>The device of the buffer (the host for the empty view).</summary>
    public Device Device => Buffer?.Device ?? Device.Cpu;

    /// <summary>The elements, for a view of host memory; a device's view throws.</summary>
    public Span<float> Span => Buffer switch
    {
        null => [],
        CpuBuffer cpu => cpu.Memory.Span.Slice(Offset, Length),
        _ => throw new InvalidOperationException($"Elements on {Buffer.Device} are not host memory; copy them to the host first (Tensor.ToHost, BufferView.CopyTo)."),
    };

    /// <summary>Host memory as a view (caller memory, not copied): for parameters a kernel reads from the host.</summary>
    public static BufferView Host(Memory<float> memory) => memory.IsEmpty ? default : new BufferView(CpuBuffer.Wrap(memory), 0, memory.Length);

    /// <summary>A host array as a view (<see cref="Host"/>): kernel tests and host callers of the CPU backend.</summary>
    public static implicit operator BufferView(float[] array) => Host(array);

    /// <summary>Host memory as a view (<see cref="Host"/>).</summary>
    public static implicit operator BufferView(Memory<float> memory) => Host(memory);

    /// <summary>The <paramref name="length"/> elements from <paramref name="start"/> of this view.</summary>
    public BufferView Slice(int start, int length)
    {
        if ((uint)start > (uint)Length || (uint)length > (uint)(Length - start))
        {
            throw new ArgumentOutOfRangeException(nameof(length), $"Elements {start}..{start + length} are outside a view of {Length}.");
        }

        return length == 0 && Buffer is null ? default : new BufferView(Buffer!, Offset + start, length);
    }

    /// <summary>The elements from <paramref name="start"/> to the end.</summary>
    public BufferView Slice(int start) => Slice(start, Length - start);

    /// <summary>Copies the elements to host memory (a download, for a device).</summary>
    public void CopyTo(Span<float> destination)
    {
        if (destination.Length != Length)
        {
            throw new ArgumentException($"Copying {Length} elements into {destination.Length}.", nameof(destination));
        }

        Buffer?.CopyTo(Offset, destination);
    }

    /// <summary>Copies host <paramref name="source"/> (exactly <see cref="Length"/> elements) into the view.</summary>
    public void CopyFrom(ReadOnlySpan<float> source)
    {
        if (source.Length != Length)
        {
            throw new ArgumentException($"Copying {source.Length} elements into {Length}.", nameof(source));
        }

        Buffer?.CopyFrom(source, Offset);
    }
}
