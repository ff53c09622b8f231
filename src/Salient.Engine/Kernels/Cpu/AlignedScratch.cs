using System.Runtime.InteropServices;
using Salient.Engine.Memory;

namespace Salient.Engine.Kernels.Cpu;

/// <summary>
/// Scratch a kernel holds beyond one <c>fixed</c> block (a product's packs, a per-call packed operand):
/// an array from <see cref="HostArrayPool"/>, pinned and starting on a 64-byte boundary until disposed,
/// when it goes back to the pool. <c>default</c> holds nothing (<see cref="Pointer"/> null).
/// </summary>
internal unsafe struct AlignedScratch : IDisposable
{
    // Floats of slack that let the array's data start on a 64-byte boundary.
    private const int AlignmentSlack = 64 / sizeof(float);

    private float[]? _array;
    private GCHandle _pin;

    /// <summary>Rents room for <paramref name="length"/> floats.</summary>
    public AlignedScratch(int length)
    {
        _array = HostArrayPool.Shared.Rent(checked(length + AlignmentSlack));
        _pin = GCHandle.Alloc(_array, GCHandleType.Pinned);
        Pointer = CacheLine.Align((float*)_pin.AddrOfPinnedObject());
    }

    /// <summary>The first of the floats, 64-byte aligned.</summary>
    public float* Pointer { get; private set; }

    public void Dispose()
    {
        if (_array is null)
        {
            return;
        }

        _pin.Free();
        HostArrayPool.Shared.Return(_array);
        _array = null;
        Pointer = null;
    }
}
