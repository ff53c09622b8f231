using System.Buffers;

namespace Salient.Engine.Devices;

/// <summary>
/// Host storage: an array rented from the shared <see cref="ArrayPool{T}"/> (returned on dispose), or
/// memory the caller owns (model weights mapped from the file, wrapped arrays), left alone.
/// </summary>
public sealed class CpuBuffer : DeviceBuffer
{
    private float[]? _rented;

    private CpuBuffer(Memory<float> memory, float[]? rented)
    {
        Memory = memory;
        _rented = rented;
    }

    /// <summary>The elements.</summary>
    public Memory<float> Memory { get; private set; }

    /// <inheritdoc/>
    public override Device Device => Device.Cpu;

    /// <inheritdoc/>
    public override int Length => Memory.Length;

    /// <summary>Whether the storage came from the pool (and goes back on dispose).</summary>
    public bool IsPooled => _rented is not null;

    /// <summary>Exactly <paramref name="length"/> floats rented from the shared pool; contents unspecified.</summary>
    public static CpuBuffer Rent(int length)
    {
        var rented = ArrayPool<float>.Shared.Rent(length);
        return new CpuBuffer(rented.AsMemory(0, length), rented);
    }

    /// <summary>Caller memory, not copied and never returned anywhere.</summary>
    public static CpuBuffer Wrap(Memory<float> memory) => new(memory, null);

    /// <inheritdoc/>
    public override DeviceBuffer AllocateLike(int length) => Rent(length);

    /// <inheritdoc/>
    public override void CopyFrom(ReadOnlySpan<float> source, int offset) => source.CopyTo(Memory.Span[offset..]);

    /// <inheritdoc/>
    public override void CopyTo(int offset, Span<float> destination) => Memory.Span.Slice(offset, destination.Length).CopyTo(destination);

    /// <inheritdoc/>
    public override void CopyTo(int offset, DeviceBuffer destination, int destinationOffset, int length)
    {
        ArgumentNullException.ThrowIfNull(destination);
        destination.CopyFrom(Memory.Span.Slice(offset, length), destinationOffset);
    }

    /// <inheritdoc/>
    protected override void Release()
    {
        var rented = _rented;
        _rented = null;
        Memory = Memory<float>.Empty;
        if (rented is not null)
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }
}
