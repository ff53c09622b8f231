using ILGPU;
using ILGPU.Runtime;

namespace Salient.Engine.Cuda;

/// <summary>
/// Device float buffers reused by size class (powers of two from 1,024 values), so steady-state
/// inference allocates no device memory. A returned buffer may be rented again at once: that is
/// safe while every use of the pool's buffers is queued on one stream (work on a stream runs in
/// order), which is why a pool belongs to one stream. Thread-safe.
/// </summary>
public sealed class DeviceBufferPool : IDisposable
{
    private const int SmallestClass = 10;

    private readonly Accelerator _accelerator;
    private readonly Dictionary<int, Stack<MemoryBuffer1D<float, Stride1D.Dense>>> _free = [];
    private readonly Lock _lock = new();
    private long _bytesHeld;
    private bool _disposed;

    public DeviceBufferPool(Accelerator accelerator)
    {
        _accelerator = accelerator;
    }

    /// <summary>Bytes of device memory the pool has allocated and not freed (rented or free).</summary>
    public long BytesHeld => Interlocked.Read(ref _bytesHeld);

    /// <summary>A buffer of at least <paramref name="length"/> values (contents undefined); dispose it to give it back.</summary>
    public DeviceBuffer Rent(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var sizeClass = Math.Max(SmallestClass, 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)Math.Max(1, length - 1)));
        MemoryBuffer1D<float, Stride1D.Dense>? buffer = null;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_free.TryGetValue(sizeClass, out var stack) && stack.Count > 0)
            {
                buffer = stack.Pop();
            }
        }

        if (buffer is null)
        {
            buffer = _accelerator.Allocate1D<float>(1L << sizeClass);
            Interlocked.Add(ref _bytesHeld, buffer.LengthInBytes);
        }

        return new DeviceBuffer(this, buffer, sizeClass, length);
    }

    internal void Return(MemoryBuffer1D<float, Stride1D.Dense> buffer, int sizeClass)
    {
        lock (_lock)
        {
            if (!_disposed)
            {
                if (!_free.TryGetValue(sizeClass, out var stack))
                {
                    _free[sizeClass] = stack = new Stack<MemoryBuffer1D<float, Stride1D.Dense>>();
                }

                stack.Push(buffer);
                return;
            }
        }

        Interlocked.Add(ref _bytesHeld, -buffer.LengthInBytes);
        buffer.Dispose();
    }

    /// <summary>Frees the buffers not rented now.</summary>
    public void Trim()
    {
        lock (_lock)
        {
            foreach (var stack in _free.Values)
            {
                while (stack.TryPop(out var buffer))
                {
                    Interlocked.Add(ref _bytesHeld, -buffer.LengthInBytes);
                    buffer.Dispose();
                }
            }
        }
    }

    /// <summary>Frees the free buffers; buffers still rented are freed when they are returned.</summary>
    public void Dispose()
    {
        Trim();
        lock (_lock)
        {
            _disposed = true;
        }
    }
}

/// <summary>A rented device buffer; <see cref="View"/> covers exactly the length asked for.</summary>
public sealed class DeviceBuffer : IDisposable
{
    private readonly DeviceBufferPool _pool;
    private readonly int _sizeClass;
    private MemoryBuffer1D<float, Stride1D.Dense>? _buffer;

    internal DeviceBuffer(DeviceBufferPool pool, MemoryBuffer1D<float, Stride1D.Dense> buffer, int sizeClass, long length)
    {
        _pool = pool;
        _buffer = buffer;
        _sizeClass = sizeClass;
        Length = length;
    }

    public long Length { get; }

    public ArrayView<float> View
    {
        get
        {
            ObjectDisposedException.ThrowIf(_buffer is null, this);
            return _buffer.View.SubView(0, Length);
        }
    }

    public void Dispose()
    {
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null)
        {
            _pool.Return(buffer, _sizeClass);
        }
    }
}
