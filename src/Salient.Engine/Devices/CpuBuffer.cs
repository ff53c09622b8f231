using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Salient.Engine.Memory;

namespace Salient.Engine.Devices;

/// <summary>
/// Host storage: an array rented from <see cref="HostArrayPool"/> (returned on dispose), or
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

    /// <summary>Exactly <paramref name="length"/> floats rented from the pool, starting on a 64-byte boundary; contents unspecified.</summary>
    public static CpuBuffer Rent(int length)
    {
        var rented = HostArrayPool.Shared.Rent(length + AlignmentSlack);
        return new CpuBuffer(rented.AsMemory(AlignedStart(rented), length), rented);
    }

    // A tensor starts on a cache line, so a GEMM's 512-bit stores into it (a convolution's output) never
    // straddle two lines, which cost the GEMM about 15% at 1024³. The slack costs nothing except for small
    // lengths at a power of two or up to 15 below one, which the pool then rounds up to the next. The pool's arrays are not
    // pinned, so the alignment holds while the array stays put: the large ones, those worth aligning,
    // live in the large object heap, which the collector does not compact unless asked to; a moved
    // array is only slower, never wrong.
    private const int AlignmentSlack = (64 / sizeof(float)) - 1;

    private static unsafe int AlignedStart(float[] array)
    {
        var address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        return (int)((-address & 63) / sizeof(float));
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
            HostArrayPool.Shared.Return(rented);
        }
    }
}
