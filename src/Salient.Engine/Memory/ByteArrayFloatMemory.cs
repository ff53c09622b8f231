using System.Buffers;
using System.Runtime.InteropServices;

namespace Salient.Engine.Memory;

/// <summary>
/// Float memory over a byte array that something else already holds (a protobuf ByteString of
/// weights), so model weights are read from the file once and never copied again.
/// </summary>
internal sealed class ByteArrayFloatMemory : MemoryManager<float>
{
    private readonly byte[] _bytes;
    private readonly int _offset;
    private readonly int _count;
    private GCHandle _pin;
    private int _pinCount;

    public ByteArrayFloatMemory(byte[] bytes, int offset, int count)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX weights are little-endian; big-endian hosts are not supported.");
        }

        _bytes = bytes;
        _offset = offset;
        _count = count;
    }

    public override Span<float> GetSpan() => MemoryMarshal.Cast<byte, float>(_bytes.AsSpan(_offset, _count * sizeof(float)));

    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        lock (_bytes)
        {
            if (_pinCount++ == 0)
            {
                _pin = GCHandle.Alloc(_bytes, GCHandleType.Pinned);
            }
        }

        var start = (byte*)_pin.AddrOfPinnedObject() + _offset + (elementIndex * sizeof(float));
        return new MemoryHandle(start, default, this);
    }

    public override void Unpin()
    {
        lock (_bytes)
        {
            if (--_pinCount == 0)
            {
                _pin.Free();
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
    }
}
