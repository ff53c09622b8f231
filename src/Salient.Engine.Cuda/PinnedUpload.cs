using ILGPU;
using ILGPU.Runtime;

namespace Salient.Engine.Cuda;

/// <summary>
/// Host-to-device copies through page-locked (pinned) host memory: the host copy into the pinned
/// buffer is a memcpy, and the device copy from it is a DMA queued on the stream that does not
/// block the caller. The pinned buffer is reused, so an upload first waits for the stream (the
/// previous upload must have left it); decoding overlaps the GPU's work before this point: the
/// explain and eval pipelines decode the next batch on a CPU thread while the current one computes.
/// </summary>
public sealed class PinnedUpload : IDisposable
{
    private readonly Accelerator _accelerator;
    private readonly AcceleratorStream _stream;
    private PageLockedArray1D<float> _pinned;

    public PinnedUpload(Accelerator accelerator, AcceleratorStream stream, long capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _accelerator = accelerator;
        _stream = stream;
        _pinned = accelerator.AllocatePageLocked1D<float>(capacity);
    }

    /// <summary>Values the pinned buffer holds; an <see cref="Upload"/> of more grows it.</summary>
    public long Capacity => _pinned.Length;

    /// <summary>Queues the copy of <paramref name="source"/> to the start of <paramref name="destination"/> on the stream.</summary>
    public void Upload(ReadOnlySpan<float> source, ArrayView<float> destination)
    {
        if (destination.Length < source.Length)
        {
            throw new ArgumentException($"Device destination holds {destination.Length} values, the upload has {source.Length}.", nameof(destination));
        }

        if (source.IsEmpty)
        {
            return;
        }

        _stream.Synchronize();
        if (source.Length > _pinned.Length)
        {
            _pinned.Dispose();
            _pinned = _accelerator.AllocatePageLocked1D<float>(source.Length);
        }

        source.CopyTo(_pinned.Span);
        destination.SubView(0, source.Length).CopyFrom(_stream, _pinned.ArrayView.SubView(0, source.Length));
    }

    public void Dispose() => _pinned.Dispose();
}
