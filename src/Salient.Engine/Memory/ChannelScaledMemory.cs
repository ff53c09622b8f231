using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Salient.Engine.Memory;

/// <summary>
/// Filters [OC, …] with each output channel's filter multiplied by its scale (a batch norm folded into
/// the convolution before it), computed when read instead of kept: a model would otherwise hold every
/// folded layer's weights twice, as loaded and folded, though its kernels read the folded ones only to
/// make their packed forms (once per model) and keep those. Reading through <see cref="Pin"/> (what
/// the CPU kernels do) folds into a pooled buffer held while any pin lasts; <see cref="GetSpan"/>
/// (a device upload, say) folds into an array the collector reclaims once nothing refers to it.
/// </summary>
internal sealed class ChannelScaledMemory : MemoryManager<float>
{
    private readonly ReadOnlyMemory<float> _filters;
    private readonly float[] _scale;
    private readonly Lock _lock = new();
    private readonly WeakReference<float[]?> _lastRead = new(null);
    private float[]? _pinned;
    private GCHandle _pin;
    private int _pinCount;

    public ChannelScaledMemory(ReadOnlyMemory<float> filters, ReadOnlySpan<float> scale)
    {
        if (scale.IsEmpty || filters.Length % scale.Length != 0)
        {
            throw new ArgumentException($"{filters.Length} weights do not split into {scale.Length} filters.", nameof(scale));
        }

        _filters = filters;
        _scale = scale.ToArray();
    }

    public override Span<float> GetSpan()
    {
        if (!_lastRead.TryGetTarget(out var values))
        {
            values = new float[_filters.Length];
            Fold(values);
            _lastRead.SetTarget(values);
        }

        return values;
    }

    public override unsafe MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _filters.Length);
        lock (_lock)
        {
            if (_pinCount == 0)
            {
                _pinned = HostArrayPool.Shared.Rent(_filters.Length);
                Fold(_pinned);
                _pin = GCHandle.Alloc(_pinned, GCHandleType.Pinned);
            }

            _pinCount++;
            return new MemoryHandle((float*)_pin.AddrOfPinnedObject() + elementIndex, default, this);
        }
    }

    public override void Unpin()
    {
        lock (_lock)
        {
            if (--_pinCount == 0)
            {
                _pin.Free();
                HostArrayPool.Shared.Return(_pinned!);
                _pinned = null;
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
    }

    // The same arithmetic as folding into a kept copy: each filter times its channel's scale.
    private void Fold(Span<float> values)
    {
        var filters = _filters.Span;
        var perFilter = filters.Length / _scale.Length;
        for (var oc = 0; oc < _scale.Length; oc++)
        {
            TensorPrimitives.Multiply(filters.Slice(oc * perFilter, perFilter), _scale[oc], values.Slice(oc * perFilter, perFilter));
        }
    }
}
