namespace Salient.Engine.Devices;

/// <summary>
/// Float32 storage on one device, made by that device's backend (<see cref="Kernels.IKernelBackend.Allocate"/>)
/// from its pool and returned there on <see cref="Dispose"/>. Tensors hold a buffer and reach its
/// elements through a <see cref="BufferView"/>; only the host's buffers (<see cref="CpuBuffer"/>)
/// expose spans. A device backend subclasses this for its memory (an ILGPU backend: a
/// <c>MemoryBuffer1D&lt;float, Stride1D.Dense&gt;</c>, viewed as an <c>ArrayView</c>).
/// </summary>
public abstract class DeviceBuffer : IDisposable
{
    /// <summary>The device the storage lives on.</summary>
    public abstract Device Device { get; }

    /// <summary>How many floats the buffer holds (a pooled buffer may hold more than a tensor uses).</summary>
    public abstract int Length { get; }

    /// <summary>Whether the buffer has gone back to its pool.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>A fresh buffer of <paramref name="length"/> floats on the same device, from the same pool; contents unspecified.</summary>
    public abstract DeviceBuffer AllocateLike(int length);

    /// <summary>Copies host <paramref name="source"/> into the buffer from element <paramref name="offset"/> (an upload, for a device).</summary>
    public abstract void CopyFrom(ReadOnlySpan<float> source, int offset);

    /// <summary>Copies <paramref name="destination"/>.Length elements from element <paramref name="offset"/> to the host (a download, for a device).</summary>
    public abstract void CopyTo(int offset, Span<float> destination);

    /// <summary>Copies <paramref name="length"/> elements to another buffer on the same device, without the host.</summary>
    public abstract void CopyTo(int offset, DeviceBuffer destination, int destinationOffset, int length);

    /// <summary>Returns the storage to its pool (or leaves caller memory alone). Using the buffer afterwards is a bug.</summary>
    public void Dispose()
    {
        if (!IsDisposed)
        {
            IsDisposed = true;
            Release();
        }

        GC.SuppressFinalize(this);
    }

    /// <summary>Gives the storage back, once.</summary>
    protected abstract void Release();

    /// <summary>"device buffer of n floats is on X; expected Y": the error of a backend handed another device's memory.</summary>
    public static InvalidOperationException WrongDevice(Device actual, Device expected) =>
        new($"A buffer on {actual} was passed to the {expected} backend; move the tensor to {expected} first (Tensor.To).");
}
